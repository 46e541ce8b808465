"""The small IAM evaluator the stack tests use, on cases the IAM user guide documents."""

from __future__ import annotations

from tests.infra.iam_policy import Call, decide, unused_grants

PROFILE = (
    "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama3-1-8b-instruct-v1:0"
)
MODEL = "arn:aws:bedrock:us-west-2::foundation-model/meta.llama3-1-8b-instruct-v1:0"
STATEMENTS = [
    {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": PROFILE},
    {
        "Effect": "Allow",
        "Action": ["bedrock:InvokeModel"],
        "Resource": ["arn:aws:bedrock:us-*::foundation-model/meta.llama3-1-8b-instruct-v1:0"],
        "Condition": {"StringEquals": {"bedrock:InferenceProfileArn": PROFILE}},
    },
]


def test_allow_needs_action_resource_and_condition() -> None:
    assert decide(STATEMENTS, Call("bedrock:InvokeModel", PROFILE)) == "allowed"
    assert (
        decide(STATEMENTS, Call("BEDROCK:invokemodel", PROFILE)) == "allowed"
    )  # actions: any case
    through = {"bedrock:InferenceProfileArn": PROFILE}
    assert decide(STATEMENTS, Call("bedrock:InvokeModel", MODEL, through)) == "allowed"
    assert decide(STATEMENTS, Call("bedrock:InvokeModel", MODEL)) == "implicitly denied"
    assert decide(STATEMENTS, Call("bedrock:Retrieve", PROFILE)) == "implicitly denied"
    assert decide(STATEMENTS, Call("bedrock:InvokeModel", PROFILE.upper())) == "implicitly denied"


def test_an_explicit_deny_wins() -> None:
    deny = {"Effect": "Deny", "Action": "bedrock:*", "Resource": "*"}
    assert decide([*STATEMENTS, deny], Call("bedrock:InvokeModel", PROFILE)) == (
        "explicitly denied"
    )


def test_a_grant_no_call_uses_is_reported() -> None:
    calls = [Call("bedrock:InvokeModel", PROFILE)]
    assert unused_grants(STATEMENTS, calls) == [
        "?: bedrock:InvokeModel on "
        "arn:aws:bedrock:us-*::foundation-model/meta.llama3-1-8b-instruct-v1:0"
    ]

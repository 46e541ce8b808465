"""IAM's evaluation of identity policies, for the statements our stacks write.

Enough of the documented logic ("Policy evaluation logic", IAM user guide) to decide a call
against an identity policy: an explicit Deny wins, else an Allow whose Action, Resource and
Condition all match, else the implicit deny. Actions match case-insensitively, resources
case-sensitively, both with `*` and `?` wildcards. Conditions: StringEquals, StringLike,
StringNotEquals (a key missing from the request fails StringEquals and StringLike); any other
operator is refused rather than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Call:
    """One authorized request: the action, the resource ARN, the request's condition keys."""

    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)


def _pattern(text: str, case_sensitive: bool) -> re.Pattern[str]:
    expression = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in text
    )
    return re.compile(f"^{expression}$", 0 if case_sensitive else re.IGNORECASE)


def matches(pattern: str, value: str, case_sensitive: bool = True) -> bool:
    return bool(_pattern(pattern, case_sensitive).match(value))


def _listed(value: Any) -> list[str]:
    return [str(item) for item in (value if isinstance(value, list) else [value])]


def _condition_holds(conditions: Mapping[str, Mapping[str, Any]], call: Call) -> bool:
    for operator, pairs in conditions.items():
        for key, expected in pairs.items():
            actual = call.context.get(key)
            wanted = _listed(expected)
            if operator == "StringEquals":
                holds = actual is not None and actual in wanted
            elif operator == "StringLike":
                holds = actual is not None and any(matches(w, actual) for w in wanted)
            elif operator == "StringNotEquals":
                holds = actual is None or actual not in wanted
            else:
                raise NotImplementedError(f"condition operator {operator}")
            if not holds:
                return False
    return True


def statement_applies(statement: Mapping[str, Any], call: Call) -> bool:
    if "NotAction" in statement or "NotResource" in statement:
        raise NotImplementedError("NotAction / NotResource")
    return (
        any(matches(a, call.action, case_sensitive=False) for a in _listed(statement["Action"]))
        and any(matches(r, call.resource) for r in _listed(statement["Resource"]))
        and _condition_holds(statement.get("Condition", {}), call)
    )


def decide(statements: Sequence[Mapping[str, Any]], call: Call) -> str:
    """`allowed`, `explicitly denied` or `implicitly denied`, as IAM decides."""
    applying = [s for s in statements if statement_applies(s, call)]
    if any(s.get("Effect") == "Deny" for s in applying):
        return "explicitly denied"
    if any(s.get("Effect") == "Allow" for s in applying):
        return "allowed"
    return "implicitly denied"


def unused_grants(statements: Sequence[Mapping[str, Any]], calls: Sequence[Call]) -> list[str]:
    """Each (action, resource) an Allow statement grants that no call needs: more than enough."""
    unused = []
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        for action in _listed(statement["Action"]):
            for resource in _listed(statement["Resource"]):
                single = {**statement, "Action": action, "Resource": resource}
                if not any(statement_applies(single, call) for call in calls):
                    unused.append(f"{statement.get('Sid', '?')}: {action} on {resource}")
    return unused

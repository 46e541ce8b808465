"""The fleet-wide rate limit: an AWS WAF web ACL on the load balancer, counting per client."""

from __future__ import annotations

import json

from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from app.core.errors import RateLimited
from app.http.auth import API_KEY_HEADER
from infra.cdk.service_settings import WafSettings

# The service accepts a key in either header (app/security.py); WAF counts each header's value.
KEY_HEADERS = (API_KEY_HEADER.lower(), "authorization")
THROTTLED_BODY_KEY = "throttled"
# The service's error shape, so a client handles WAF's 429 as it handles a replica's; WAF answers
# before any replica sees the request, so there is no request id.
THROTTLED_BODY = json.dumps(
    {
        "error": {
            "code": RateLimited.code,
            "message": "rate limit of the service exceeded; slow down and retry",
            "request_id": None,
        }
    }
)


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


def _header_present(header: str) -> wafv2.CfnWebACL.StatementProperty:
    # A missing header does not match a size constraint, so "size > 0" means "sent".
    return wafv2.CfnWebACL.StatementProperty(
        size_constraint_statement=wafv2.CfnWebACL.SizeConstraintStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(single_header={"Name": header}),
            comparison_operator="GT",
            size=0,
            text_transformations=[
                wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")
            ],
        )
    )


def _rate_rule(
    name: str, priority: int, statement: wafv2.CfnWebACL.RateBasedStatementProperty
) -> wafv2.CfnWebACL.RuleProperty:
    # WAF lifts a block once the client's count over the window falls under the limit.
    retry_after_s = str(statement.evaluation_window_sec)
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        action=wafv2.CfnWebACL.RuleActionProperty(
            block=wafv2.CfnWebACL.BlockActionProperty(
                custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                    response_code=RateLimited.status_code,
                    custom_response_body_key=THROTTLED_BODY_KEY,
                    response_headers=[
                        wafv2.CfnWebACL.CustomHTTPHeaderProperty(
                            name="Retry-After", value=retry_after_s
                        )
                    ],
                )
            )
        ),
        statement=wafv2.CfnWebACL.StatementProperty(rate_based_statement=statement),
        visibility_config=_visibility(name),
    )


def rate_rules(settings: WafSettings) -> list[wafv2.CfnWebACL.RuleProperty]:
    """One rule per key header (a request counts against the key it carries), then one per
    address for requests that carry no key."""
    rules: list[wafv2.CfnWebACL.RuleProperty] = []
    for priority, header in enumerate(KEY_HEADERS):
        per_key = wafv2.CfnWebACL.RateBasedStatementProperty(
            limit=settings.requests_per_client,
            evaluation_window_sec=settings.window_s,
            aggregate_key_type="CUSTOM_KEYS",
            custom_keys=[
                wafv2.CfnWebACL.RateBasedStatementCustomKeyProperty(
                    header=wafv2.CfnWebACL.RateLimitHeaderProperty(
                        name=header,
                        text_transformations=[
                            wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")
                        ],
                    )
                )
            ],
        )
        rules.append(_rate_rule(f"rate-per-{header}", priority, per_key))
    no_key = wafv2.CfnWebACL.StatementProperty(
        not_statement=wafv2.CfnWebACL.NotStatementProperty(
            statement=wafv2.CfnWebACL.StatementProperty(
                or_statement=wafv2.CfnWebACL.OrStatementProperty(
                    statements=[_header_present(header) for header in KEY_HEADERS]
                )
            )
        )
    )
    per_address = wafv2.CfnWebACL.RateBasedStatementProperty(
        limit=settings.requests_per_client,
        evaluation_window_sec=settings.window_s,
        aggregate_key_type="IP",
        scope_down_statement=no_key,
    )
    rules.append(_rate_rule("rate-per-address", len(KEY_HEADERS), per_address))
    return rules


def protect_load_balancer(
    scope: Construct, load_balancer: elbv2.IApplicationLoadBalancer, settings: WafSettings
) -> wafv2.CfnWebACL:
    """A regional web ACL allowing everything but clients over their rate, on the ALB."""
    web_acl = wafv2.CfnWebACL(
        scope,
        "WebAcl",
        scope="REGIONAL",
        default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
        description="fm-tailor: requests per client across the whole fleet",
        rules=rate_rules(settings),
        custom_response_bodies={
            THROTTLED_BODY_KEY: wafv2.CfnWebACL.CustomResponseBodyProperty(
                content_type="APPLICATION_JSON", content=THROTTLED_BODY
            )
        },
        visibility_config=_visibility("fm-tailor-web-acl"),
    )
    wafv2.CfnWebACLAssociation(
        scope,
        "WebAclAssociation",
        resource_arn=load_balancer.load_balancer_arn,
        web_acl_arn=web_acl.attr_arn,
    )
    return web_acl

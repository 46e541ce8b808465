"""The text table `python -m eval cost` prints."""

from __future__ import annotations

from eval.cost import StrategyCost, UsageAssumptions, hours_mismatch


def cost_table(
    costs: dict[str, StrategyCost], usage: UsageAssumptions, break_even: float | None
) -> str:
    lines = [
        f"Usage: {usage.users:,} users x {usage.requests_per_user_per_day:g} requests/day x "
        f"{usage.days_per_month:g} days = {usage.requests_per_month:,.0f} requests/month, "
        f"{usage.input_tokens_per_request:,.0f} input + {usage.output_tokens_per_request:,.0f} "
        "output tokens each",
        "",
        f"{'strategy':<10} {'USD/month':>12} {'USD/1k req':>11}  breakdown",
    ]
    for cost in costs.values():
        lines.append(
            f"{cost.strategy:<10} {cost.monthly:>12,.2f} {cost.per_thousand_requests:>11,.3f}"
        )
        for line in cost.fixed + cost.variable:
            lines.append(f"{'':<36}{line.item}: {line.monthly:,.2f} ({line.detail})")
    lines.append("")
    if (mismatch := hours_mismatch(usage)) is not None:
        lines.append(f"Note: {mismatch}.")
    if break_even is None:
        lines.append("Break-even RAG vs fine-tuned: RAG has no per-request cost; none.")
    else:
        per_day = break_even / usage.days_per_month
        lines.append(
            f"Break-even RAG vs fine-tuned endpoint: {break_even:,.0f} requests/month "
            f"({per_day:,.0f}/day); below it RAG is cheaper, above it the endpoint is."
        )
    return "\n".join(lines)

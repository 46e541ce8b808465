"""The cost model reproduces the reference table and follows the editable price table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.cli import main
from eval.cost import (
    CostInputError,
    break_even_requests,
    load_prices,
    load_usage,
    strategy_costs,
    with_measured_tokens,
)
from eval.settings import PROJECT_ROOT

PRICES = PROJECT_ROOT / "data" / "prices.json"
USAGE = PROJECT_ROOT / "data" / "usage.json"
REFERENCE_USAGE = PROJECT_ROOT / "data" / "usage-reference.json"
REFERENCE = {"rag": 548.40, "finetuned": 5106.57, "hybrid": 5456.97}


def test_reference_table_is_reproduced_exactly() -> None:
    costs = strategy_costs(load_prices(PRICES), load_usage(REFERENCE_USAGE))
    for strategy, expected in REFERENCE.items():
        assert costs[strategy].monthly == pytest.approx(expected, abs=0.005)


def test_default_usage_prices_every_always_on_resource_over_one_month() -> None:
    usage = load_usage(USAGE)
    assert usage.vector_store_hours_per_month == usage.endpoint_hours_per_month
    assert usage.endpoint_hours_per_month == 24 * usage.days_per_month
    costs = strategy_costs(load_prices(PRICES), usage)
    # 2 OCU x $0.24 x 720 h + 300,000 x 3,000 tokens x $0.22/M; the endpoint as in the reference
    assert costs["rag"].monthly == pytest.approx(345.60 + 198.00)
    assert costs["finetuned"].monthly == pytest.approx(REFERENCE["finetuned"], abs=0.005)
    for strategy, expected in REFERENCE.items():
        assert costs[strategy].monthly == pytest.approx(expected, rel=0.01)


def test_query_embeddings_are_charged_to_every_strategy_that_retrieves() -> None:
    usage = load_usage(USAGE).model_copy(update={"embedding_tokens_per_request": 50})
    prices = load_prices(PRICES)
    with_embeddings, without = (
        strategy_costs(prices, usage),
        strategy_costs(prices, load_usage(USAGE)),
    )
    embedding_bill = 300_000 * 50 * 0.02 / 1e6
    assert with_embeddings["rag"].monthly - without["rag"].monthly == pytest.approx(embedding_bill)
    assert with_embeddings["hybrid"].monthly - without["hybrid"].monthly == pytest.approx(
        embedding_bill
    )
    assert with_embeddings["finetuned"].monthly == without["finetuned"].monthly
    assert any("query embeddings" in line.item for line in with_embeddings["hybrid"].variable)


def test_break_even_between_rag_and_the_endpoint() -> None:
    costs = strategy_costs(load_prices(PRICES), load_usage(USAGE))
    requests = break_even_requests(costs["rag"], costs["finetuned"])
    assert requests is not None
    # At that traffic RAG's bill equals the endpoint's, and 10% more traffic tips it over.
    per_request = costs["rag"].per_request
    rag_then = costs["rag"].fixed_monthly + per_request * requests
    assert rag_then == pytest.approx(costs["finetuned"].monthly)
    assert costs["rag"].fixed_monthly + per_request * requests * 1.1 > costs["finetuned"].monthly


def test_edited_prices_change_the_costs(tmp_path: Path) -> None:
    table = json.loads(PRICES.read_text())
    table["vector_store_ocu_hour"] *= 2
    edited = tmp_path / "prices.json"
    edited.write_text(json.dumps(table))
    usage = load_usage(USAGE)
    before = strategy_costs(load_prices(PRICES), usage)
    after = strategy_costs(load_prices(edited), usage)
    ocu_bill = 0.24 * usage.vector_store_ocus * usage.vector_store_hours_per_month
    assert after["rag"].monthly - before["rag"].monthly == pytest.approx(ocu_bill)
    assert after["finetuned"].monthly == before["finetuned"].monthly


def test_measured_tokens_change_only_the_token_bill() -> None:
    prices, usage = load_prices(PRICES), load_usage(USAGE)
    measured = strategy_costs(prices, with_measured_tokens(usage, 200.0, 50.0))
    # 300,000 requests x 250 tokens x $0.22 per million
    assert measured["rag"].variable[0].monthly == pytest.approx(300_000 * 250 * 0.22 / 1e6)
    assert measured["hybrid"].monthly == strategy_costs(prices, usage)["hybrid"].monthly


def test_measured_tokens_say_whose_tokenizer_counted_them() -> None:
    prices, usage = load_prices(PRICES), load_usage(USAGE)
    measured = with_measured_tokens(usage, 200.0, 50.0, "SmolLM2-135M")
    detail = strategy_costs(prices, measured)["rag"].variable[0].detail
    assert "SmolLM2-135M's tokenizer" in detail and "meta.llama3-1-8b" in detail
    assumed = strategy_costs(prices, usage)["rag"].variable[0].detail
    assert "usage assumptions" in assumed and "tokenizer" not in assumed


def test_missing_price_is_named(tmp_path: Path) -> None:
    usage = load_usage(USAGE).model_copy(update={"endpoint_instance_type": "ml.p5.48xlarge"})
    with pytest.raises(CostInputError, match=r"ml\.p5\.48xlarge"):
        strategy_costs(load_prices(PRICES), usage)


def test_cost_command_prints_the_reference_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "--usage", str(REFERENCE_USAGE)]) == 0
    printed = capsys.readouterr().out
    assert "548.40" in printed and "5,106.57" in printed and "5,456.97" in printed
    assert "Break-even" in printed
    # The reference's own inconsistency is reproduced, and said.
    assert "730 h/month and the endpoint over 720 h/month" in printed


def test_cost_command_with_the_default_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost"]) == 0
    printed = capsys.readouterr().out
    assert "543.60" in printed and "5,106.57" in printed and "5,452.17" in printed
    assert "not the same month" not in printed

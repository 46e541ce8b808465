"""The strategy table: a strategy is one entry plus its prompt settings, and every consumer
(routes, composition, prompts, /compare, metrics, the eval) follows the table."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.main import create_app
from app.settings import PromptGroup, PromptSettings, Settings
from app.strategies.table import STRATEGIES, STRATEGY_NAMES, StrategySpec
from app.strategies.templates import templates_from_settings
from app.wiring.compose import Backends
from app.wiring.fakes import FakeGenerator, FakeRetriever
from eval.runner import served_strategies
from eval.settings import EvalSettings
from tests.conftest import SAMPLE_PASSAGES

CONTROL = StrategySpec(
    name="base",
    retrieves=False,
    generator="base",
    prompt="control",
    label="Base",
    description="The base model alone, no retrieval: a control for the other strategies.",
)


class ControlPrompts(PromptSettings):
    """The prompt settings of the control strategy, beside the shipped ones."""

    control: PromptGroup = PromptGroup(
        system="You are a product support assistant.", user="Customer asks: {question}\nAnswer:"
    )


@pytest.fixture
def retriever() -> FakeRetriever:
    return FakeRetriever(SAMPLE_PASSAGES)


@pytest.fixture
def base() -> FakeGenerator:
    return FakeGenerator(answer="Base answer.", model_id="fake-base")


@pytest.fixture
async def client(retriever: FakeRetriever, base: FakeGenerator) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(_env_file=None, prompts=ControlPrompts())  # type: ignore[call-arg]
    tuned = FakeGenerator(answer="Tuned answer.", model_id="fake-tuned")
    app = create_app(settings, Backends(retriever, base, tuned), table=(*STRATEGIES, CONTROL))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


async def test_a_fourth_strategy_answers_on_its_own_route(
    client: httpx.AsyncClient, retriever: FakeRetriever, base: FakeGenerator
) -> None:
    response = await client.post("/base", json={"question": "KX-420 pressure?"})

    assert response.status_code == 200
    body = response.json()
    assert (body["strategy"], body["answer"], body["model"]) == (
        "base",
        "Base answer.",
        "fake-base",
    )
    assert body["sources"] == []
    assert retriever.calls == 0  # it does not retrieve
    assert [m.content for m in base.prompts[-1]] == [
        "You are a product support assistant.",
        "Customer asks: KX-420 pressure?\nAnswer:",
    ]


async def test_a_fourth_strategy_streams_and_is_compared(client: httpx.AsyncClient) -> None:
    streamed = await client.post("/base", json={"question": "q", "stream": True})
    compared = (await client.post("/compare", json={"question": "q"})).json()

    assert "event: done" in streamed.text
    assert set(compared["results"]) == {"rag", "finetuned", "hybrid", "base"}


async def test_a_fourth_strategy_is_documented_and_measured(client: httpx.AsyncClient) -> None:
    await client.post("/base", json={"question": "q"})
    spec = (await client.get("/openapi.json")).json()
    metrics = (await client.get("/metrics")).text

    assert spec["paths"]["/base"]["post"]["description"] == CONTROL.description
    assert 'fmt_stage_duration_seconds_count{stage="generate",strategy="base"} 1.0' in metrics
    assert 'stage="retrieve",strategy="base"' not in metrics


async def test_a_strategy_without_prompt_settings_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="FMT_PROMPTS__CONTROL__SYSTEM"):
        templates_from_settings(PromptSettings(), (*STRATEGIES, CONTROL))


async def test_the_eval_asks_every_strategy_of_the_table_by_default(
    client: httpx.AsyncClient,
) -> None:
    """The runner takes the strategies from the service's OpenAPI document, a fourth too."""
    assert EvalSettings(_env_file=None).strategies == []  # type: ignore[call-arg]
    spec = (await client.get("/openapi.json")).json()
    assert served_strategies(spec) == [*STRATEGY_NAMES, "base"]


async def test_the_playground_has_a_column_for_each_strategy(client: httpx.AsyncClient) -> None:
    page = (await client.get("/")).text

    assert page.count('class="column"') == 4
    assert 'data-strategy="base" data-retrieves="false"' in page
    assert f'<h2 id="base-title">{CONTROL.label}</h2>' in page

"""The contract every retriever keeps, run against each backend with its service stubbed."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from app.core.errors import BackendThrottled
from tests.contract.aws_stubs import use_fake_aws_credentials
from tests.contract.harnesses import (
    BedrockKnowledgeBaseHarness,
    FakeRetrieverHarness,
    RetrieverHarness,
)

HARNESSES: dict[str, Callable[[], RetrieverHarness]] = {
    "fake": FakeRetrieverHarness,
    "bedrock-kb": BedrockKnowledgeBaseHarness,
}
TEXTS = ["The KX-420 runs at 210 bar.", "Set the W-90 wire feed to 7.5 m/min.", "Torque 45 Nm."]


@pytest.fixture(params=sorted(HARNESSES))
def harness(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RetrieverHarness]:
    use_fake_aws_credentials(monkeypatch)
    harness = HARNESSES[request.param]()
    yield harness
    harness.finish()


async def test_returns_at_most_top_k_complete_passages(harness: RetrieverHarness) -> None:
    harness.will_find(TEXTS[:2])

    passages = await harness.retriever.retrieve("KX-420 pressure", 2)

    assert 1 <= len(passages) <= 2
    assert {passage.text for passage in passages} <= set(TEXTS)
    for passage in passages:
        assert passage.id and passage.title and passage.location
        assert isinstance(passage.score, float)
    assert len({passage.id for passage in passages}) == len(passages)


async def test_throttling_that_does_not_stop_is_backend_throttled(
    harness: RetrieverHarness,
) -> None:
    harness.will_throttle()

    with pytest.raises(BackendThrottled):
        await harness.retriever.retrieve("KX-420 pressure", 3)


def test_names_itself(harness: RetrieverHarness) -> None:
    assert isinstance(harness.retriever.name, str) and harness.retriever.name

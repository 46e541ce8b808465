"""The local retriever with the real bundled MiniLM, on a tiny catalog written to tmp_path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.core.embeddings import load_embedder, model_identity
from app.retrievers.local import build_local_retriever
from app.settings import PROJECT_ROOT, Settings
from eval.retrieval.__main__ import conversation_search
from eval.retrieval.hit_rate import measure_hit_rate, read_test_questions
from tests.catalog.format_hit_rates import format_retriever
from tests.retrievers.local_support import tiny_settings

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _keep_torch_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    # Serving caps torch threads process-wide; other tests in this process must not inherit it.
    monkeypatch.setattr("app.retrievers.local.limit_torch_threads", lambda: None)


@pytest.mark.parametrize(
    ("question", "product"),
    [
        (
            "How do I protect my eyes when joining steel at high amperage?",
            "Brantley BW-350 MIG Welder",
        ),
        (
            "My machine could not build up hydraulic force in time, what is wrong?",
            "Kestrel KX-420 Hydraulic Press",
        ),
    ],
)
async def test_paraphrased_question_finds_its_product(
    tmp_path: Path, question: str, product: str
) -> None:
    retriever = build_local_retriever(tiny_settings(tmp_path))

    passages = await retriever.retrieve(question, 1)

    assert passages[0].title == product
    await retriever.aclose()


def test_minilm_vectors_are_unit_length_and_model_is_named(tmp_path: Path) -> None:
    settings = tiny_settings(tmp_path)
    embedder = load_embedder(settings)

    vectors = embedder.encode(["hydraulic press", "MIG welder"])

    assert vectors.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert embedder.identity == model_identity(embedder.model_path)


def test_every_follow_up_of_the_sample_conversations_finds_its_facts() -> None:
    """data/test/conversations.json on the sample catalog: a follow-up that asks for a code ("And
    E09?") or only switches product ("And on the Kestrel press?") finds the passage stating it."""
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    retriever = format_retriever(settings.catalog, settings, load_embedder(settings))
    conversations = read_test_questions(PROJECT_ROOT / "data" / "test" / "conversations.json")

    report = measure_hit_rate(conversation_search(retriever), conversations, top_k=3)

    facts = report.conversation_facts
    assert facts.facts == sum(len(item.facts) for item in conversations) > 0
    assert facts.in_first == facts.facts

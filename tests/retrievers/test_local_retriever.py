"""The local retriever on a tiny catalog, with a hashing encoder standing in for MiniLM."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from app.retrievers import local
from app.retrievers.local import LocalRetriever, build_local_retriever, lexical_query
from app.retrievers.local_index import Vectors, load_or_build_index
from tests.retrievers.local_support import HashingEncoder, tiny_settings

PRESS = "Kestrel KX-420 Hydraulic Press"
WELDER = "Brantley BW-350 MIG Welder"
PUMP = "Vantor VP-65 Centrifugal Process Pump"


def _retriever(tmp_path: Path, encoder: HashingEncoder | None = None) -> LocalRetriever:
    settings = tiny_settings(tmp_path)
    index, _ = load_or_build_index(settings, HashingEncoder())
    return LocalRetriever(
        index,
        encoder or HashingEncoder(),
        rrf_k=settings.retrieval.rrf_k,
        candidates=settings.retrieval.candidates,
    )


@pytest.mark.parametrize(
    ("query", "products", "expected"),
    [
        # the question's own code finds the passage; the product's code would outweigh it
        ("And E09? BW-350", [WELDER], "And E09?  "),
        ("What does E-21 mean on the KX-420?", [PRESS], "What does E-21 mean on the  ?"),
        # without a code of its own, the product's code keeps BM25 on the product
        ("How heavy is it? BW-350", [WELDER], "How heavy is it? BW-350"),
        # no products to favour: the words as they are
        ("And E09? BW-350", [], "And E09? BW-350"),
    ],
)
def test_bm25_leaves_the_product_code_out_when_the_question_has_a_code_of_its_own(
    query: str, products: list[str], expected: str
) -> None:
    assert lexical_query(query, products) == expected


async def test_product_named_by_its_type_comes_first(tmp_path: Path) -> None:
    retriever = _retriever(tmp_path)

    passages = await retriever.retrieve("How long must I wait before opening the press?", 3)

    assert passages[0].title == PRESS
    assert passages[0].section == "Safety Instructions"
    await retriever.aclose()


async def test_fault_code_finds_its_product(tmp_path: Path) -> None:
    retriever = _retriever(tmp_path)

    passages = await retriever.retrieve("what does E21 mean", 1)

    assert [passage.title for passage in passages] == [PRESS]
    assert "E-21" in passages[0].text
    await retriever.aclose()


async def test_passages_carry_fused_scores_titles_and_locations(tmp_path: Path) -> None:
    retriever = _retriever(tmp_path)

    passages = await retriever.retrieve("helmet shade for welding above 250 A", 4)

    assert len(passages) == 4
    assert passages[0].title == WELDER
    scores = [passage.score for passage in passages]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < score <= 2 / 61 for score in scores)
    assert passages[0].location.startswith("catalog.txt#Brantley BW-350 MIG Welder/")
    assert len({passage.id for passage in passages}) == 4
    await retriever.aclose()


async def test_top_k_larger_than_the_catalog_returns_every_chunk_once(tmp_path: Path) -> None:
    retriever = _retriever(tmp_path)

    passages = await retriever.retrieve("pump", 50)

    assert len(passages) == len(retriever.index.chunks)
    assert len({passage.id for passage in passages}) == len(passages)
    await retriever.aclose()


class SlowEncoder(HashingEncoder):
    def encode(self, texts: Sequence[str], batch_size: int = 32) -> Vectors:
        time.sleep(0.3)
        return super().encode(texts, batch_size)


async def test_retrieve_does_not_block_the_event_loop(tmp_path: Path) -> None:
    retriever = _retriever(tmp_path, SlowEncoder())
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    passages = await retriever.retrieve("pump impeller nut torque", 1)
    ticker.cancel()

    assert passages[0].title == PUMP
    assert ticks >= 10
    await retriever.aclose()


def test_build_local_retriever_uses_settings_and_persists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = tiny_settings(tmp_path, rrf_k=5, candidates=2)
    monkeypatch.setattr(local, "load_embedder", lambda _settings: HashingEncoder())
    monkeypatch.setattr(local, "limit_torch_threads", lambda: None)

    folder = local.prepare_index(settings)
    retriever = build_local_retriever(settings)
    passages = retriever.search("aluminium drive rolls tension", 2)

    assert (folder / "manifest.json").is_file()
    assert folder.parent == tmp_path / "index"
    assert passages[0].title == WELDER
    # rrf_k=5 and at most two candidates from each ranking bound the fused scores.
    assert passages[0].score <= 2 / 6


async def test_same_question_asked_at_once_is_searched_once(tmp_path: Path) -> None:
    encoder = SlowEncoder()
    retriever = _retriever(tmp_path, encoder)

    first, second = await asyncio.gather(
        retriever.retrieve("impeller nut torque", 2), retriever.retrieve("impeller nut torque", 2)
    )
    third = await retriever.retrieve("impeller nut torque", 1)

    assert first == second
    assert third == first[:1]
    assert encoder.calls == 1
    await retriever.aclose()


async def test_cancelled_caller_does_not_cancel_the_shared_search(tmp_path: Path) -> None:
    retriever = _retriever(tmp_path, SlowEncoder())

    impatient = asyncio.create_task(retriever.retrieve("impeller nut torque", 1))
    patient = asyncio.create_task(retriever.retrieve("impeller nut torque", 1))
    await asyncio.sleep(0.05)
    impatient.cancel()

    assert (await patient)[0].title == PUMP
    await retriever.aclose()

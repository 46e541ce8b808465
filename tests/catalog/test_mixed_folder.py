"""A folder of mixed formats is served with every source titled by its product."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from app.catalog import ChunkSizes, chunk_sections, read_catalog
from app.main import create_app
from app.retrievers.local import LocalRetriever
from app.retrievers.local_index import build_index
from app.settings import ContextSettings, Settings
from app.wiring.compose import Backends
from app.wiring.fakes import FakeGenerator
from tests.catalog.converters import sample_products, write_mixed_folder
from tests.retrievers.local_support import HashingEncoder

QUESTIONS = {
    "What does fault E-21 mean on the press?": "Kestrel KX-420 Hydraulic Press",
    "Which drive rolls do I fit for aluminium wire?": "Brantley BW-350 MIG Welder",
    "What belt sag should the return side have?": "Orrin OC-880 Modular Belt Conveyor",
    "How much grease do the pump bearings take?": "Vantor VP-65 Centrifugal Process Pump",
}


def test_every_file_of_a_mixed_folder_gives_its_products(tmp_path: Path) -> None:
    names = write_mixed_folder(sample_products(), tmp_path / "kb")

    catalog = read_catalog(tmp_path / "kb", Settings(_env_file=None).documents)  # type: ignore[call-arg]

    assert sorted(catalog.products()) == sorted(names)
    assert catalog.skipped == []
    sources = {section.product: section.source for section in catalog.sections}
    assert sources[names[0]] == "kx420_manual_rev3.pdf"
    assert sources[names[4]] == sources[names[5]] == "product catalog.txt"


async def test_the_service_titles_every_source_by_its_product(tmp_path: Path) -> None:
    names = write_mixed_folder(sample_products(), tmp_path / "kb")
    # Every retrieved passage is quoted: this is about the retriever's titles, and a hashing
    # encoder's best passage is too often another product's for `one_product` to keep it.
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        catalog=tmp_path / "kb",
        context=ContextSettings(one_product=False),
    )
    encoder = HashingEncoder()
    sections = read_catalog(settings.catalog, settings.documents).sections
    index = build_index(chunk_sections(sections, ChunkSizes.of(settings)), encoder)
    retriever = LocalRetriever(index, encoder, rrf_k=60, candidates=20)

    def builder(settings: Settings) -> Backends:
        return Backends(retriever, FakeGenerator(), FakeGenerator())

    app = create_app(settings, builder=builder)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        for _ in range(200):
            ready = await client.get("/ready")
            if ready.status_code == 200:
                break
            await asyncio.sleep(0.02)
        assert ready.status_code == 200, ready.json()
        replies = {
            question: (await client.post("/rag", json={"question": question, "top_k": 5})).json()
            for question in QUESTIONS
        }

    for question, product in QUESTIONS.items():
        titles = [source["title"] for source in replies[question]["sources"]]
        assert set(titles) <= set(names), titles
        assert product in titles[:3], (question, titles)

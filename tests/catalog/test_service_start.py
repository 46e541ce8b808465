"""A catalog with nothing readable stops neither the service nor `make prepare` with a traceback."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from app.main import create_app
from app.settings import PROJECT_ROOT, Settings
from app.wiring.compose import build_backends
from tests.catalog.hostile_files import (
    write_deep_json,
    write_inflating_docx,
    write_truncated_docx,
    write_unsupported_method_docx,
)
from tests.retrievers.local_support import HashingEncoder


def _unreadable_catalog(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    (folder / "junk.txt").write_bytes(b"\x00\x01\x02" * 100)
    return folder


async def test_service_reports_an_unreadable_catalog_on_ready_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("app.retrievers.local.load_embedder", lambda _settings: HashingEncoder())
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        catalog=_unreadable_catalog(tmp_path),
        retrieval={"index_dir": tmp_path / "index"},
    )
    app = create_app(settings, builder=build_backends)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        for _ in range(200):
            ready = await client.get("/ready")
            if ready.json()["detail"] != "loading":
                break
            await asyncio.sleep(0.02)
        answer = await client.post("/rag", json={"question": "What is the rated force?"})

    assert ready.status_code == 503
    assert "empty.txt: empty file" in ready.json()["detail"]
    assert "junk.txt: binary content" in ready.json()["detail"]
    assert answer.status_code == 503
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors and all(record.exc_info is None for record in errors)


@pytest.mark.slow
def test_prepare_exits_with_the_reason_and_no_traceback(tmp_path: Path) -> None:
    environment = {
        **os.environ,
        "FMT_CATALOG": str(_unreadable_catalog(tmp_path)),
        "FMT_RETRIEVAL__INDEX_DIR": str(tmp_path / "index"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }

    result = subprocess.run(
        [sys.executable, "-m", "infra.prepare"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 2
    assert "empty.txt: empty file" in result.stderr
    assert "Traceback" not in result.stderr


async def test_the_service_starts_beside_hostile_catalog_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 27: each of these once made the whole catalog fail, and every answer a 503."""
    monkeypatch.setattr("app.retrievers.local.load_embedder", lambda _settings: HashingEncoder())
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "good.txt").write_text(
        "=== PRODUCT: Kestrel KX-420 Press ===\n--- Description ---\n"
        "A four-post hydraulic press rated at 420 kN for stamping and deep drawing.\n",
        encoding="utf-8",
    )
    write_truncated_docx(folder / "truncated.docx")
    write_unsupported_method_docx(folder / "deflate64.docx")
    write_deep_json(folder / "deep.json")
    write_inflating_docx(folder / "bomb.docx", unpacked_mb=30)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        catalog=folder,
        retrieval={"index_dir": tmp_path / "index"},
        # Built without a call: the catalog and the index are what this start-up is about.
        generator="openai",
        tuned_generator="openai",
        openai={"base_url": "http://127.0.0.1:9/v1"},
    )
    app = create_app(settings, builder=build_backends)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        for _ in range(500):
            ready = await client.get("/ready")
            if ready.json()["detail"] != "loading":
                break
            await asyncio.sleep(0.02)

    assert ready.status_code == 200, ready.text

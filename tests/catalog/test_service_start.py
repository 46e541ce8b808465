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

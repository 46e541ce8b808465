"""The official `openai` SDK against a real uvicorn serving the embedded default (MiniLM retrieval,
SmolLM2 generation): the base URL and any key, as a chat frontend would be set up."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from app.settings import PROJECT_ROOT
from tests.uvicorn_process import ServedApp, uvicorn_process

pytestmark = pytest.mark.slow

READY_TIMEOUT_S = 300


def _wait_until_ready(served: ServedApp) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        response = httpx.get(f"{served.url}/ready", timeout=5)
        if response.status_code == 200:
            return
        if response.json().get("detail") not in (None, "loading"):
            raise RuntimeError(f"the service failed to load: {response.text}")
        time.sleep(0.5)
    raise TimeoutError(f"not ready after {READY_TIMEOUT_S} s:\n{served.log_tail()}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, shared_index_dir: Path) -> Iterator[ServedApp]:
    work = tmp_path_factory.mktemp("openai-sdk")
    environment = {
        "FMT_CATALOG": str(PROJECT_ROOT / "data" / "kb"),
        "FMT_RETRIEVAL__INDEX_DIR": str(shared_index_dir),
        "FMT_LOCAL__ADAPTERS_DIR": str(work / "adapters"),
        "FMT_LOCAL__REQUIRE_ADAPTER": "false",
        "FMT_API_KEYS": "",
        "HF_HUB_OFFLINE": "1",
    }
    with uvicorn_process(
        "app.main:create_app", environment=environment, log=work / "server.log"
    ) as served:
        _wait_until_ready(served)
        yield served


@pytest.fixture
def client(served: ServedApp) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=f"{served.url}/v1", api_key="anything", max_retries=0, timeout=120
    ) as client:
        yield client


CONVERSATION: list[dict[str, str]] = [
    {"role": "user", "content": "What does fault E-21 mean on the Kestrel KX-420?"},
    {"role": "assistant", "content": "Set pressure was not reached within 8 s."},
    {"role": "user", "content": "And E-33?"},
]


def test_the_sdk_lists_the_strategies_and_gets_an_answer(client: openai.OpenAI) -> None:
    assert [model.id for model in client.models.list()] == ["rag", "finetuned", "hybrid"]

    completion = client.chat.completions.create(
        model="rag",
        messages=CONVERSATION,
        max_tokens=48,  # type: ignore[arg-type]
    )

    assert completion.choices[0].message.content
    assert completion.choices[0].finish_reason in ("stop", "length")
    assert completion.usage is not None and completion.usage.completion_tokens > 0
    titles = {source["title"] for source in (completion.model_extra or {})["sources"]}
    assert titles == {"Kestrel KX-420 Hydraulic Press"}


def test_the_sdk_streams_an_answer(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="hybrid",
        messages=CONVERSATION,  # type: ignore[arg-type]
        max_tokens=48,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text.strip()
    assert chunks[-2].choices[0].finish_reason in ("stop", "length")
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_an_unknown_model_is_refused_by_the_real_server(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])


def test_the_snippet_of_the_readme_runs(served: ServedApp, tmp_path: Path) -> None:
    """The README's snippet, as it is written there, against this server."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("```python\nfrom openai import OpenAI")
    snippet = readme[start + len("```python\n") : readme.index("```", start + 10)]
    code = snippet.replace("http://127.0.0.1:8000/v1", f"{served.url}/v1")
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)

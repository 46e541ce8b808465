"""Every strategy's answers to the sample questions end where they should (real models).

No answer carries prompt-template text ("Question:", "Catalog excerpt:", "Answer the question
from the excerpt:", taken from the prompt settings) or a chat-template token, and none repeats a
sentence or list item: a decode that starts repeating itself is cut and reported (`repetition`).
The tuned strategies use the adapter trained for the sample catalog when one is there
(`make finetune`), else the untuned base (labelled so): the stops are the same.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from app.generators.local import UNTUNED_SUFFIX
from app.generators.local_stops import CHAT_MARKERS, template_phrases
from app.generators.lora_adapters import adapter_landed, adapter_path_for
from app.generators.repetition import repetition_start
from app.main import create_app
from app.settings import PROJECT_ROOT, LocalModelSettings, RetrievalSettings, Settings
from app.wiring.compose import build_backends

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

SAMPLE = PROJECT_ROOT / "data" / "kb"
QUESTIONS: list[str] = [
    str(item["question"])
    for item in json.loads((PROJECT_ROOT / "data" / "test" / "test.json").read_text("utf-8"))
]


def _settings(work: Path, index_dir: Path) -> Settings:
    shipped = Settings(_env_file=None)  # type: ignore[call-arg]
    trained = adapter_path_for(shipped)
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        catalog=SAMPLE,
        retrieval=RetrievalSettings(index_dir=index_dir),
        local=LocalModelSettings(
            lora_path=trained if adapter_landed(trained) else None,
            adapters_dir=work / "adapters",
            require_adapter=False,
        ),
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(
    tmp_path_factory: pytest.TempPathFactory, shared_index_dir: Path
) -> AsyncIterator[httpx.AsyncClient]:
    settings = _settings(tmp_path_factory.mktemp("endings"), shared_index_dir)
    backends = build_backends(settings)
    app = create_app(settings, backends=backends)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=300) as c:
            yield c
    finally:
        await backends.aclose()


@pytest.fixture(scope="module")
def checked() -> dict[tuple[str, str], str]:
    """(model, prompt group) pairs already checked, and the strategy that checked them."""
    return {}


@pytest.mark.parametrize("strategy", ["rag", "finetuned", "hybrid"])
async def test_no_answer_carries_prompt_text_or_repeats_itself(
    client: httpx.AsyncClient, strategy: str, checked: dict[tuple[str, str], str]
) -> None:
    prompts = Settings(_env_file=None).prompts  # type: ignore[call-arg]
    phrases = (*template_phrases(prompts), *CHAT_MARKERS)
    # Greedy decoding: the same model through the same prompt gives the same answers. Without a
    # trained adapter (CI) hybrid is rag's model with rag's prompt, and its answers are rag's.
    probe = await client.post(f"/{strategy}", json={"question": QUESTIONS[0], "max_tokens": 1})
    assert probe.status_code == 200, probe.text
    model = str(probe.json()["model"]).removesuffix(UNTUNED_SUFFIX)  # the same weights
    served = (model, getattr(prompts, strategy).model_dump_json())
    if served in checked:
        pytest.skip(f"{strategy} is {checked[served]}'s model through {checked[served]}'s prompt")
    checked[served] = strategy
    carrying: list[tuple[str, str]] = []
    repeating: list[str] = []
    for question in QUESTIONS:
        # 128 tokens hold every sample answer and several repeats of any loop: the detector
        # cuts at the first repeat, so a longer budget only costs the suite time.
        body = {"question": question, "max_tokens": 128}
        response = await client.post(f"/{strategy}", json=body)
        assert response.status_code == 200, response.text
        answer = response.json()["answer"]
        carrying += [(answer, phrase) for phrase in phrases if phrase in answer]
        if repetition_start(answer) is not None:
            repeating.append(answer)

    assert not carrying, carrying
    assert not repeating, repeating

"""Settings: env names are a public contract, bad values are refused with the variable's name."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.settings import PROJECT_ROOT, Settings
from app.settings_doc import render_env_example


def _settings() -> Settings:
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_defaults_run_the_embedded_mode_on_port_8000() -> None:
    settings = _settings()
    assert (settings.retriever, settings.generator, settings.tuned_generator) == (
        "local",
        "local",
        "local",
    )
    assert settings.port == 8000
    assert settings.catalog == PROJECT_ROOT / "data" / "kb"


def test_public_variable_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FMT_CATALOG", str(tmp_path))
    monkeypatch.setenv("FMT_HOST", "0.0.0.0")
    monkeypatch.setenv("FMT_PORT", "9001")
    monkeypatch.setenv("FMT_RETRIEVER", "bedrock-kb")
    monkeypatch.setenv("FMT_GENERATOR", "bedrock")
    monkeypatch.setenv("FMT_TUNED_GENERATOR", "sagemaker")
    monkeypatch.setenv("FMT_BEDROCK__KNOWLEDGE_BASE_ID", "KB123")
    monkeypatch.setenv("FMT_SAGEMAKER__ENDPOINT_NAME", "tuned-endpoint")
    monkeypatch.setenv("FMT_OPENAI__BASE_URL", "http://127.0.0.1:9999/v1")

    settings = _settings()

    assert settings.catalog == tmp_path
    assert (settings.host, settings.port) == ("0.0.0.0", 9001)
    assert (settings.retriever, settings.generator, settings.tuned_generator) == (
        "bedrock-kb",
        "bedrock",
        "sagemaker",
    )
    assert settings.bedrock.knowledge_base_id == "KB123"
    assert settings.sagemaker.endpoint_name == "tuned-endpoint"
    assert settings.openai.base_url == "http://127.0.0.1:9999/v1"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FMT_RETRIEVER", "elasticsearch"),
        ("FMT_PORT", "70000"),
        ("FMT_RETRIEVAL__CHUNK_OVERLAP_PERCENT", "100"),
        ("FMT_DOCUMENTS__PRODUCT_PATTERN", "(unclosed"),
    ],
)
def test_bad_values_are_refused_at_start_up(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as raised:
        _settings()
    field = variable.removeprefix("FMT_").split("__")[0].lower()
    assert field in str(raised.value)


def test_env_example_lists_every_setting_as_the_code_defines_it() -> None:
    committed = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8")
    assert committed == render_env_example(), "run: python -m app.settings_doc > .env.example"

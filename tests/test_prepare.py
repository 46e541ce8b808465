"""`python -m infra.prepare`: what `make run` prepares follows the configured backends."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from app.settings import PROJECT_ROOT, Settings
from infra.prepare import main, plan, prepare


def needed(settings: Settings, **options: bool) -> set[str]:
    return {step.name for step in plan(settings, **options) if step.needed}


def test_the_embedded_default_needs_the_index_and_the_adapter() -> None:
    assert needed(Settings(_env_file=None)) == {"index", "adapter"}


def test_aws_backends_need_nothing_local() -> None:
    # issue 12: bedrock-kb + sagemaker used to train a LoRA adapter nothing would use (~5 min).
    settings = Settings(_env_file=None, retriever="bedrock-kb", tuned_generator="sagemaker")

    assert needed(settings) == set()


@pytest.mark.parametrize(
    ("retriever", "tuned", "expected"),
    [
        ("local", "sagemaker", {"index"}),
        ("bedrock-kb", "local", {"adapter"}),
        ("local", "openai", {"index"}),
    ],
)
def test_each_part_is_prepared_only_for_its_own_backend(
    retriever: str, tuned: str, expected: set[str]
) -> None:
    settings = Settings(_env_file=None, retriever=retriever, tuned_generator=tuned)

    assert needed(settings) == expected


def test_a_given_adapter_or_no_adapter_flag_skips_training(tmp_path: Path) -> None:
    given = Settings(_env_file=None, local={"lora_path": tmp_path / "adapter.gguf"})

    assert needed(given) == {"index"}
    assert needed(Settings(_env_file=None), adapter=False) == {"index"}


def test_prepare_runs_exactly_the_needed_steps_in_order() -> None:
    ran: list[str] = []
    actions = {
        "index": lambda _settings: ran.append("index"),
        "adapter": lambda _settings: ran.append("adapter"),
    }

    prepare(Settings(_env_file=None), actions=actions)
    prepare(
        Settings(_env_file=None, retriever="bedrock-kb", tuned_generator="sagemaker"),
        actions=actions,
    )

    assert ran == ["index", "adapter"]


def test_the_command_with_aws_backends_builds_and_trains_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FMT_RETRIEVER", "bedrock-kb")
    monkeypatch.setenv("FMT_TUNED_GENERATOR", "sagemaker")
    monkeypatch.setenv("FMT_RETRIEVAL__INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("FMT_LOCAL__ADAPTERS_DIR", str(tmp_path / "adapters"))
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    from app.settings import get_settings

    get_settings.cache_clear()
    try:
        assert main([]) == 0
    finally:
        get_settings.cache_clear()

    assert not (tmp_path / "index").exists()
    assert not (tmp_path / "adapters").exists()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_prepares_through_app_prepare_alone() -> None:
    dry_run = subprocess.run(
        ["make", "-n", "prepare", "doctor"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert "-m infra.prepare" in dry_run
    assert "infra.finetune" not in dry_run  # training is infra.prepare's decision
    assert "-m infra.doctor" in dry_run


def test_training_starts_in_the_background_once_and_says_so_in_its_progress_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import signal
    import sys

    import infra.prepare as preparing
    from app.generators.lora_adapters import progress_path_for, read_progress

    settings = Settings(_env_file=None, local={"adapters_dir": tmp_path / "adapters"})
    # Stands in for `python -m infra.finetune local`: a process that waits to be stopped.
    monkeypatch.setattr(
        preparing,
        "training_command",
        lambda profile: [sys.executable, "-c", "import time; time.sleep(60)"],
    )
    pid = preparing.start_adapter_training(settings, profile="thorough")
    try:
        assert pid is not None
        progress = read_progress(progress_path_for(settings))
        assert progress is not None
        assert (progress.state, progress.pid, progress.profile) == ("starting", pid, "thorough")
        assert progress.active
        assert preparing.start_adapter_training(settings) is None  # one training at a time
    finally:
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
    assert not read_progress(progress_path_for(settings)).active  # type: ignore[union-attr]


def test_the_background_training_is_niced_and_trains_only_a_missing_adapter() -> None:
    from infra.prepare import training_command

    command = training_command("quick")
    assert command[-5:] == ["infra.finetune", "local", "--if-missing", "--profile", "quick"]
    if shutil.which("nice"):
        assert command[:3] == [shutil.which("nice"), "-n", "10"]

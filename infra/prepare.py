"""`python -m infra.prepare`: make ready what the configured backends will use, and nothing else.

The local retriever needs its index (built here, before the service starts); the local tuned
generator needs the catalog's LoRA adapter. Training it takes minutes on a CPU, so it is started
in the background (`python -m infra.finetune local --if-missing`, niced, its log and progress
file beside where the adapter lands) and the service starts at once: `rag` answers from the
first request, the tuned strategies answer 503 `adapter_training` until the adapter lands and
then use it, with no restart. `--foreground` trains before returning instead. With
`FMT_RETRIEVER=bedrock-kb` and `FMT_TUNED_GENERATOR=sagemaker` there is nothing local to prepare.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from app.settings import PROJECT_ROOT, Settings, get_settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Step:
    """One thing to prepare, and why (or why not)."""

    name: str
    needed: bool
    reason: str


def plan(settings: Settings, *, adapter: bool = True) -> list[Step]:
    """What `make run` must prepare for these settings; `adapter=False` leaves training out."""
    index = Step(
        "index",
        settings.retriever == "local",
        f"retriever is {settings.retriever}",
    )
    if settings.tuned_generator != "local":
        training = Step("adapter", False, f"tuned generator is {settings.tuned_generator}")
    elif settings.local.lora_path is not None:
        training = Step("adapter", False, f"FMT_LOCAL__LORA_PATH is {settings.local.lora_path}")
    elif not adapter:
        training = Step("adapter", False, "--no-adapter given")
    else:
        training = Step("adapter", True, "tuned generator is local")
    return [index, training]


def build_index(settings: Settings) -> None:
    from app.retrievers.local import prepare_index

    logger.info("retrieval index ready at %s", prepare_index(settings))


def train_adapter(settings: Settings, profile: str = "quick") -> None:
    """The catalog's LoRA adapter, trained here and now, only when this catalog has none yet."""
    from infra.finetune.local import run_local
    from infra.finetune.settings import FinetuneSettings, with_profile

    outcome = run_local(settings, with_profile(FinetuneSettings().local, profile), if_missing=True)
    state = "already there" if outcome.skipped else "trained"
    logger.info("adapter %s: %s", state, outcome.adapter_path)


TRAINING_NICENESS = 10
"""The background training yields the CPU to the service answering next to it."""


def training_command(profile: str) -> list[str]:
    command = [sys.executable, "-m", "infra.finetune", "local", "--if-missing"]
    command += ["--profile", profile]
    nice = shutil.which("nice")
    return [nice, "-n", str(TRAINING_NICENESS), *command] if nice else command


def start_adapter_training(settings: Settings, profile: str = "quick") -> int | None:
    """Start training the catalog's adapter in its own process, unless it exists or is being
    trained already; returns the new process id. Its output goes to `training.log` and its
    progress to `progress.json`, beside where the adapter will land."""
    from app.generators.lora_adapters import (
        TrainingProgress,
        adapter_dir_for,
        adapter_landed,
        adapter_path_for,
        progress_path_for,
        read_progress,
        write_progress,
    )

    if adapter_landed(adapter_path_for(settings)):
        logger.info("adapter already there: %s", adapter_path_for(settings))
        return None
    progress = read_progress(progress_path_for(settings))
    if progress is not None and progress.active:
        logger.info("adapter already training (process %s): %s", progress.pid, progress.state)
        return None
    folder = adapter_dir_for(settings)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "training.log").open("ab") as log:
        # A session of its own: stopping the service (Ctrl-C) leaves the training running; it
        # checkpoints as it goes, so even a killed one resumes where it was.
        process = subprocess.Popen(
            training_command(profile),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_ROOT,
            start_new_session=True,
        )
    write_progress(
        progress_path_for(settings),
        TrainingProgress(state="starting", pid=process.pid, profile=profile),
    )
    logger.info(
        "adapter training started in the background (process %d, profile %s); log: %s",
        process.pid,
        profile,
        folder / "training.log",
    )
    return process.pid


def _start_adapter_training(settings: Settings) -> None:
    start_adapter_training(settings)


ACTIONS: dict[str, Callable[[Settings], object]] = {
    "index": build_index,
    "adapter": _start_adapter_training,
}


def prepare(
    settings: Settings,
    *,
    adapter: bool = True,
    actions: dict[str, Callable[[Settings], object]] = ACTIONS,
) -> list[Step]:
    """Run the needed steps of `plan(settings)` in order; returns the plan."""
    steps = plan(settings, adapter=adapter)
    for step in steps:
        if step.needed:
            logger.info("preparing %s (%s)", step.name, step.reason)
            actions[step.name](settings)
        else:
            logger.info("no local %s to prepare: %s", step.name, step.reason)
    return steps


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.prepare", description=__doc__)
    parser.add_argument(
        "--no-adapter", action="store_true", help="build the index only; never train"
    )
    parser.add_argument(
        "--foreground",
        action="store_true",
        help="train the adapter before returning (images, CI) instead of in the background",
    )
    parser.add_argument("--profile", choices=["quick", "thorough"], default="quick")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    from app.catalog import CatalogError

    train = train_adapter if arguments.foreground else start_adapter_training
    actions = {**ACTIONS, "adapter": partial(train, profile=arguments.profile)}
    try:
        prepare(get_settings(), adapter=not arguments.no_adapter, actions=actions)
    except CatalogError as error:
        logger.error("%s", error)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

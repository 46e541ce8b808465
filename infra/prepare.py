"""`python -m infra.prepare`: make ready what the configured backends will use, and nothing else.

The local retriever needs its index; the local tuned generator needs the catalog's LoRA adapter
(trained here when missing, about 5 minutes on a CPU). With `FMT_RETRIEVER=bedrock-kb` and
`FMT_TUNED_GENERATOR=sagemaker` there is nothing local to prepare and the service starts at once.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.settings import Settings, get_settings

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


def train_adapter(settings: Settings) -> None:
    """The catalog's LoRA adapter, trained only when this catalog has none yet."""
    from infra.finetune.local import run_local
    from infra.finetune.settings import FinetuneSettings

    outcome = run_local(settings, FinetuneSettings().local, if_missing=True)
    state = "already there" if outcome.skipped else "trained"
    logger.info("adapter %s: %s", state, outcome.adapter_path)


ACTIONS: dict[str, Callable[[Settings], None]] = {"index": build_index, "adapter": train_adapter}


def prepare(
    settings: Settings,
    *,
    adapter: bool = True,
    actions: dict[str, Callable[[Settings], None]] = ACTIONS,
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
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    from app.catalog import CatalogError

    try:
        prepare(get_settings(), adapter=not arguments.no_adapter)
    except CatalogError as error:
        logger.error("%s", error)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

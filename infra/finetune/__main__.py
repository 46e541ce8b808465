"""Command line: `python -m infra.finetune local | sagemaker-train | sagemaker-deploy | ...`."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from botocore.exceptions import NoCredentialsError

from app.settings import Settings
from infra.finetune.examples import TrainingDataError
from infra.finetune.jumpstart_metadata import UnknownModelError
from infra.finetune.sagemaker_session import SageMakerContext, SageMakerSetupError
from infra.finetune.settings import (
    PROFILES,
    FinetuneSettings,
    LocalFinetuneSettings,
    with_profile,
)

# A user's mistake in the SageMaker commands: one line naming what to change, no traceback.
SETUP_ERRORS = (
    SageMakerSetupError,
    TrainingDataError,
    UnknownModelError,
    NoCredentialsError,
    FileNotFoundError,
)

LOCAL_FLAGS = (
    "method",
    "text_format",
    "qa_file",
    "epochs",
    "learning_rate",
    "rank",
    "batch_size",
    "holdout_fraction",
    "paraphrases",
)
"""`local`'s flags that set the LocalFinetuneSettings field of the same name."""


HUB_DOCUMENT_HELP = (
    "a HubContentDocument (or DescribeHubContent answer) JSON file read instead of the hub's; "
    "default: the bundled document offline, the live hub with credentials"
)


def _say(message: str) -> None:
    print(message, flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m infra.finetune", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    local = commands.add_parser("local", help="LoRA-tune the embedded model on the catalog (CPU)")
    local.add_argument("--if-missing", action="store_true", help="skip if the adapter exists")
    local.add_argument("--catalog", type=Path, help="default: FMT_CATALOG")
    local.add_argument("--method", choices=["domain", "instruct"])
    local.add_argument("--text-format", choices=["qa", "chat", "plain"])
    local.add_argument("--qa-file", type=Path, help="question/answer JSON for --method instruct")
    local.add_argument("--epochs", type=int)
    local.add_argument("--learning-rate", type=float)
    local.add_argument("--rank", type=int)
    local.add_argument("--batch-size", type=int)
    local.add_argument("--holdout-fraction", type=float)
    local.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default="quick",
        help="quick (what `make run` trains) or thorough; FMT_FINETUNE__LOCAL__* still win",
    )
    local.add_argument("--paraphrases", type=int, help="questions per fact")
    train = commands.add_parser("sagemaker-train", help="upload data, run the JumpStart job")
    train.add_argument("--catalog", type=Path, help="default: FMT_CATALOG")
    train.add_argument(
        "--dry-run",
        action="store_true",
        help="print the CreateTrainingJob request as JSON and create nothing",
    )
    train.add_argument("--hub-document", type=Path, help=HUB_DOCUMENT_HELP)
    train.add_argument("--no-wait", action="store_true", help="return once the job has started")
    train.add_argument("--resume", metavar="JOB", help="wait for a job started earlier instead")
    train.add_argument("--deploy", action="store_true", help="deploy the model when it is done")
    deploy = commands.add_parser("sagemaker-deploy", help="deploy a finished job to an endpoint")
    deploy.add_argument("--job-name", required=True)
    deploy.add_argument(
        "--dry-run",
        action="store_true",
        help="print CreateModel, CreateEndpointConfig and CreateEndpoint as one JSON object",
    )
    deploy.add_argument("--hub-document", type=Path, help=HUB_DOCUMENT_HELP)
    delete = commands.add_parser(
        "sagemaker-delete", help="delete an endpoint, its config and its model"
    )
    delete.add_argument("--endpoint-name", required=True)
    compare = commands.add_parser(
        "compare", help="base vs tuned llama.cpp answers to reference questions, with BERTScore"
    )
    compare.add_argument("--questions", type=Path, required=True, help="JSON like test.json")
    compare.add_argument("--limit", type=int, help="the first N questions; default: all")
    compare.add_argument("--output", type=Path, help="write the answers and scores as JSON")
    compare.add_argument(
        "--ledger",
        type=Path,
        help="write the per-fact ledger (test facts and the catalog's trained facts) as JSON",
    )
    compare.add_argument(
        "--catalog-facts",
        type=int,
        help="with --ledger: the first N trained catalog facts of a seeded order; default: all",
    )
    return parser


def _local_settings(
    arguments: argparse.Namespace, base: LocalFinetuneSettings
) -> LocalFinetuneSettings:
    changes = {
        field: getattr(arguments, field)
        for field in LOCAL_FLAGS
        if getattr(arguments, field, None) is not None
    }
    return LocalFinetuneSettings.model_validate({**base.model_dump(), **changes})


def _run_local(arguments: argparse.Namespace, settings: Settings, tune: FinetuneSettings) -> int:
    from infra.finetune.local import run_local

    chosen = _local_settings(arguments, with_profile(tune.local, arguments.profile))
    outcome = run_local(settings, chosen, arguments.if_missing)
    if outcome.skipped:
        _say(f"adapter for this catalog already exists: {outcome.adapter_path}")
        return 0
    assert outcome.manifest is not None
    metrics = outcome.manifest.metrics
    _say(f"adapter: {outcome.adapter_path}")
    _say(
        f"held-out perplexity: {metrics.holdout_perplexity_before} -> "
        f"{metrics.holdout_perplexity_after}; training time {outcome.manifest.timings_s}"
    )
    for entry in metrics.fact_recall:
        _say(f"epoch {entry.epoch}: held-out fact recall {entry.found} of {entry.total}")
    if metrics.best_epoch is not None:
        _say(f"adapter of epoch {metrics.best_epoch} (the best held-out fact recall)")
    return 0


def _note(message: str) -> None:
    print(message, file=sys.stderr)


def _note_placeholders(context: SageMakerContext, extra: list[str]) -> None:
    hub = context.offline_hub
    answers = hub.answers if hub is not None else []
    if answers:
        _note(f"JumpStart metadata read from {answers[-1].source}")
    placeholders = [*dict.fromkeys(p for answer in answers for p in answer.placeholders), *extra]
    if placeholders:
        _note("placeholder values (no published source; not what AWS would answer):")
        for placeholder in placeholders:
            _note(f"  {placeholder}")


def _run_dry_run(arguments: argparse.Namespace, settings: Settings, tune: FinetuneSettings) -> int:
    """The requests as one JSON object on stdout; everything else on stderr."""
    from infra.finetune import sagemaker_pipeline as pipeline
    from infra.finetune.sagemaker_endpoint import dry_run_deploy
    from infra.finetune.sagemaker_session import open_context

    context = open_context(tune.sagemaker, dry_run=True)
    extra: list[str] = []
    # The SDK prints notices (the licence URL) on stdout, which holds only the JSON here.
    with contextlib.redirect_stdout(sys.stderr):
        if arguments.command == "sagemaker-deploy":
            request, extra = dry_run_deploy(context, tune.sagemaker, arguments.job_name)
        else:
            request = pipeline.dry_run_training_request(context, tune.sagemaker, settings.catalog)
    _say(json.dumps(request, indent=2, default=str))
    assert context.dry_run is not None
    counts = Counter(context.dry_run.skipped_writes)
    skipped = ", ".join(f"{call} x{count}" for call, count in counts.items()) or "none"
    source = "offline" if context.bundled_metadata else "live hub"
    _note(f"dry run ({source} metadata); writes not sent: {skipped}")
    _note_placeholders(context, extra)
    return 0


def _run_sagemaker(
    arguments: argparse.Namespace, settings: Settings, tune: FinetuneSettings
) -> int:
    from infra.finetune import sagemaker_pipeline as pipeline
    from infra.finetune.sagemaker_session import open_context

    if getattr(arguments, "dry_run", False):
        return _run_dry_run(arguments, settings, tune)
    context = open_context(tune.sagemaker)
    if arguments.command == "sagemaker-train":
        if arguments.resume:
            job_name = arguments.resume
            pipeline.resume_training(context, tune.sagemaker, job_name, _say)
        else:
            job_name = pipeline.train_on_sagemaker(
                context, tune.sagemaker, settings.catalog, _say, wait=not arguments.no_wait
            )
        _say(f"training job: {job_name}")
        if not arguments.deploy:
            return 0
        arguments.job_name = job_name
    if arguments.command in {"sagemaker-train", "sagemaker-deploy"}:
        endpoint = pipeline.deploy_on_sagemaker(context, tune.sagemaker, arguments.job_name, _say)
        _say("endpoint in service; point the service at it:")
        _say(f"FMT_SAGEMAKER__ENDPOINT_NAME={endpoint}")
        _say("it is billed every hour until you delete it:")
        _say(f"python -m infra.finetune sagemaker-delete --endpoint-name {endpoint}")
        return 0
    pipeline.delete_on_sagemaker(context, tune.sagemaker, arguments.endpoint_name, _say)
    return 0


def _run_ledger(arguments: argparse.Namespace, settings: Settings, adapter: Path) -> int:
    from infra.finetune.ledger import build_ledger, summary_lines

    document = build_ledger(
        settings,
        adapter,
        FinetuneSettings().local,
        (arguments.questions, arguments.limit),
        arguments.catalog_facts,
    )
    arguments.ledger.parent.mkdir(parents=True, exist_ok=True)
    arguments.ledger.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    summary = document["summary"]
    assert isinstance(summary, dict)
    for line in summary_lines(summary):
        _say(line)
    _say(f"ledger: {arguments.ledger}")
    return 0


def _run_compare(arguments: argparse.Namespace, settings: Settings) -> int:
    from app.generators.lora_adapters import adapter_path_for
    from eval.settings import EvalSettings
    from infra.finetune.compare import (
        compare_answers,
        minilm_f1_scorer,
        read_questions,
        score_comparison,
    )

    adapter = settings.local.lora_path or adapter_path_for(settings)
    if arguments.ledger is not None:
        return _run_ledger(arguments, settings, adapter)
    compared = compare_answers(
        settings, adapter, read_questions(arguments.questions, arguments.limit)
    )
    statistics = EvalSettings().statistics
    scores = score_comparison(compared, minilm_f1_scorer(), statistics.resamples, statistics.seed)
    for answer in compared:
        _say(f"Q: {answer.question}\n  base:  {answer.base}\n  tuned: {answer.tuned}")
    difference = scores.difference
    _say(f"BERTScore F1 (MiniLM), {len(compared)} questions, 95% bootstrap intervals:")
    _say(f"  base   {scores.base.mean:.3f} [{scores.base.low:.3f}, {scores.base.high:.3f}]")
    _say(f"  tuned  {scores.tuned.mean:.3f} [{scores.tuned.low:.3f}, {scores.tuned.high:.3f}]")
    _say(
        f"  tuned - base {difference.mean_difference:+.3f} "
        f"[{difference.low:+.3f}, {difference.high:+.3f}], paired sign-flip p = "
        f"{difference.p_value:.4f}"
    )
    _say(
        f"Figures of the references recalled (numbers and codes the question lacks), of "
        f"{scores.figures}: base {scores.base_figures}, tuned {scores.tuned_figures}"
    )
    if arguments.output is not None:
        records = [
            {
                "question": answer.question,
                "reference": answer.reference,
                "base": answer.base,
                "tuned": answer.tuned,
                "base_f1": base_f1,
                "tuned_f1": tuned_f1,
            }
            for answer, base_f1, tuned_f1 in zip(
                compared, scores.base_f1, scores.tuned_f1, strict=True
            )
        ]
        summary = {
            "base": asdict(scores.base),
            "tuned": asdict(scores.tuned),
            "tuned_minus_base": asdict(difference),
            "figures_recalled": {
                "of": scores.figures,
                "base": scores.base_figures,
                "tuned": scores.tuned_figures,
            },
        }
        payload = {"adapter": str(adapter), "bertscore_f1": summary, "answers": records}
        arguments.output.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = Settings()
    if getattr(arguments, "catalog", None) is not None:
        settings = settings.model_copy(update={"catalog": arguments.catalog})
    tune = FinetuneSettings()
    if getattr(arguments, "hub_document", None) is not None:
        tune.sagemaker.hub_document = arguments.hub_document
    if arguments.command == "local":
        return _run_local(arguments, settings, tune)
    if arguments.command == "compare":
        return _run_compare(arguments, settings)
    try:
        return _run_sagemaker(arguments, settings, tune)
    except SETUP_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""Runs the benchmarks named on the command line (all by default), prints a table, writes JSON.

Each benchmark runs in its own process, so one that crashes (or changes global state such as
torch's thread count) does not take the others with it.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from app.settings import PROJECT_ROOT
from tests.benchmarks.results import Measurement, machine, table, write_results

BENCHMARKS = ("overhead", "concurrency", "retrieval", "generation", "eval", "soak")
DEFAULT_OUT = PROJECT_ROOT / "var" / "bench" / "latest.json"
_CHILD_FLAG = "--in-process"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"any of: {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="shorter runs, smaller inputs")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON file to write")
    parser.add_argument(_CHILD_FLAG, action="store_true", help=argparse.SUPPRESS)
    return parser


def _run_here(name: str, quick: bool, out: Path) -> int:
    """In the child: run one benchmark, write its measurements as JSON to `out`."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    module = importlib.import_module(f"tests.benchmarks.bench_{name}")
    measurements: list[Measurement] = module.run(quick)
    out.write_text(json.dumps([asdict(measurement) for measurement in measurements]))
    return 0


def _run_child(name: str, quick: bool) -> list[Measurement]:
    with tempfile.TemporaryDirectory(prefix="fmt-bench-") as folder:
        out = Path(folder) / "measurements.json"
        command = [sys.executable, "-m", "tests.benchmarks", name, _CHILD_FLAG, "--out", str(out)]
        command += ["--quick"] if quick else []
        completed = subprocess.run(command, cwd=PROJECT_ROOT, check=False)
        if completed.returncode != 0 or not out.is_file():
            note = f"failed: exit code {completed.returncode} (see the output above)"
            return [Measurement(name, "benchmark", None, "", note=note)]
        return [Measurement(**fields) for fields in json.loads(out.read_text())]


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    unknown = [name for name in arguments.names if name not in BENCHMARKS]
    if unknown:
        print(
            f"unknown benchmarks: {', '.join(unknown)}; choose from {BENCHMARKS}", file=sys.stderr
        )
        return 2
    for variable, value in (
        ("HF_HUB_OFFLINE", "1"),
        ("TRANSFORMERS_OFFLINE", "1"),
        ("TOKENIZERS_PARALLELISM", "false"),
    ):
        os.environ.setdefault(variable, value)
    if arguments.in_process:
        return _run_here(arguments.names[0], arguments.quick, arguments.out)
    context = machine()
    measurements: list[Measurement] = []
    for name in arguments.names or BENCHMARKS:
        print(f"running {name}…", file=sys.stderr, flush=True)
        started = time.perf_counter()
        measurements += _run_child(name, arguments.quick)
        print(f"  {name} took {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    write_results(arguments.out, measurements, arguments.quick, context)
    print(table(measurements))
    print(f"\n{context['cpus']} CPUs, load average at start {context['load_average_at_start']}")
    print(f"written to {arguments.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`python -m infra.cdk.app`: synthesize the stack into cdk.out/ offline and print what it holds."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

from aws_cdk import App

from app.settings import PROJECT_ROOT
from infra.cdk.settings import InfraSettings
from infra.cdk.stack import KnowledgeBaseStack


def synthesize(settings: InfraSettings, outdir: Path) -> Path:
    """Write the cloud assembly and return the stack's template file."""
    app = App(outdir=str(outdir))
    stack = KnowledgeBaseStack(app, settings)
    assembly = app.synth()
    return Path(assembly.directory) / assembly.get_stack_by_name(stack.stack_name).template_file


def describe(template_file: Path) -> str:
    """A short summary of a template: resources by type, then outputs."""
    template = json.loads(template_file.read_text())
    counts = Counter(resource["Type"] for resource in template.get("Resources", {}).values())
    lines = [f"{template_file}"]
    lines += [f"  {count} x {kind}" for kind, count in sorted(counts.items())]
    lines += [f"  output {name}" for name in template.get("Outputs", {})]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.cdk.app", description=__doc__)
    # The CDK CLI (cdk.json) passes its output folder in CDK_OUTDIR; `make synth` uses cdk.out/.
    default_outdir = Path(os.environ.get("CDK_OUTDIR", PROJECT_ROOT / "cdk.out"))
    parser.add_argument("--outdir", type=Path, default=default_outdir)
    arguments = parser.parse_args(argv)
    settings = InfraSettings()
    template_file = synthesize(settings, arguments.outdir)
    print(f"stack {settings.stack_name} (vector store: {settings.vector_store})")
    print(describe(template_file))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m infra.cdk.app`: synthesize the stacks into cdk.out/ offline, print what they hold."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

from aws_cdk import App, Stack

from app.settings import PROJECT_ROOT
from infra.cdk.service_stack import ServiceStack
from infra.cdk.settings import InfraSettings
from infra.cdk.stack import KnowledgeBaseStack


def build(app: App, settings: InfraSettings) -> list[Stack]:
    """The Knowledge Base stack, then the service stack that reads from it."""
    knowledge_base = KnowledgeBaseStack(app, settings)
    uses_knowledge_base = settings.service.retriever == "bedrock-kb"
    service = ServiceStack(
        app,
        settings.service,
        knowledge_base.knowledge_base_id if uses_knowledge_base else None,
        settings.region,
    )
    return [knowledge_base, service]


def synthesize(settings: InfraSettings, outdir: Path) -> list[Path]:
    """Write the cloud assembly and return each stack's template file."""
    app = App(outdir=str(outdir))
    stacks = build(app, settings)
    assembly = app.synth()
    directory = Path(assembly.directory)
    return [directory / assembly.get_stack_by_name(s.stack_name).template_file for s in stacks]


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
    try:
        knowledge_base, service = synthesize(settings, arguments.outdir)
    except ValueError as error:  # a setting the stacks cannot be built with, named
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"stack {settings.stack_name} (vector store: {settings.vector_store})")
    print(describe(knowledge_base))
    backends = settings.service
    print(
        f"stack {backends.stack_name} (retriever: {backends.retriever}, generator: "
        f"{backends.generator}, tuned generator: {backends.tuned_generator})"
    )
    print(describe(service))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m app.catalog inspect PATH`: print how a catalog is read before indexing it."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import (
    CliApp,
    CliPositionalArg,
    CliSubCommand,
    SettingsConfigDict,
    get_subcommand,
)

from app.catalog.chunking import ChunkSizes
from app.catalog.files import CatalogError
from app.catalog.inspection import inspect_catalog
from app.catalog.reading import read_catalog
from app.settings import Settings

EXIT_OK, EXIT_EMPTY, EXIT_USAGE = 0, 2, 2


class Inspect(BaseModel):
    """Files, products, sections, chunks and warnings of a catalog."""

    path: CliPositionalArg[Path | None] = Field(None, description="default: FMT_CATALOG")


class CatalogCommand(BaseModel):
    """How a catalog is read, before it is indexed."""

    model_config = SettingsConfigDict(cli_prog_name="python -m app.catalog", cli_kebab_case=True)

    inspect: CliSubCommand[Inspect]


def main(argv: list[str] | None = None) -> int:
    command = CliApp.run(CatalogCommand, cli_args=argv if argv is not None else sys.argv[1:])
    inspect = get_subcommand(command, is_required=False)
    if not isinstance(inspect, Inspect):
        print("error: name a command: inspect [PATH]", file=sys.stderr)
        return EXIT_USAGE
    # Warnings are in the report; the reader's log lines would only repeat them.
    logging.getLogger("app.catalog").setLevel(logging.ERROR)
    settings = Settings()
    path = inspect.path or settings.catalog
    try:
        catalog = read_catalog(path, settings.documents)
    except CatalogError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_EMPTY
    print(f"catalog: {path}")
    for line in inspect_catalog(catalog, ChunkSizes.of(settings)).lines():
        print(line)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

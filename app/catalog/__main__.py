"""`python -m app.catalog inspect PATH`: print how a catalog is read before indexing it."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from app.catalog.chunking import ChunkSizes
from app.catalog.files import CatalogError
from app.catalog.inspection import inspect_catalog
from app.catalog.reading import read_catalog
from app.settings import Settings

EXIT_OK, EXIT_EMPTY = 0, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app.catalog")
    commands = parser.add_subparsers(dest="command", required=True)
    inspect = commands.add_parser(
        "inspect", help="files, products, sections, chunks and warnings of a catalog"
    )
    inspect.add_argument("path", type=Path, nargs="?", help="default: FMT_CATALOG")
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    # Warnings are in the report; the reader's log lines would only repeat them.
    logging.getLogger("app.catalog").setLevel(logging.ERROR)
    settings = Settings()
    path = arguments.path or settings.catalog
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

"""`python -m app.prepare`: build the retrieval index of the configured catalog ahead of serving."""

from __future__ import annotations

import logging
import sys

from app.settings import get_settings


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = get_settings()
    if settings.retriever != "local":
        logging.info("retriever is %s: no local index to build", settings.retriever)
        return 0
    from app.catalog import CatalogError
    from app.retrievers.local import prepare_index

    try:
        path = prepare_index(settings)
    except CatalogError as error:
        logging.error("%s", error)
        return 2
    logging.info("retrieval index ready at %s", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

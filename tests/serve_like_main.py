"""`python -m tests.serve_like_main FACTORY PORT`: serves a FastAPI factory on 127.0.0.1:PORT
with the uvicorn options `python -m app` (the container's entry point) uses."""

from __future__ import annotations

import os
import sys

import uvicorn

from app.__main__ import uvicorn_options
from app.settings import Settings


def main(factory: str, port: int) -> None:
    options = uvicorn_options(Settings(_env_file=None), os.environ)  # type: ignore[call-arg]
    options.update(host="127.0.0.1", port=port, workers=1, log_level="warning")
    uvicorn.run(factory, **options)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))

"""`python -m app`: serve the API with uvicorn on FMT_HOST:FMT_PORT."""

from __future__ import annotations

import uvicorn

from app.settings import get_settings


def main() -> None:
    settings = get_settings()
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=30,
        access_log=False,  # app.observability writes one JSON access line per request
    )


if __name__ == "__main__":
    main()

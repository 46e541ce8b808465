"""`python -m app`: the container's entry point, uvicorn on FMT_HOST:FMT_PORT."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import uvicorn

from app.settings import Settings, get_settings


def uvicorn_options(settings: Settings, environ: Mapping[str, str]) -> dict[str, Any]:
    """What uvicorn is run with: workers from FMT_WORKERS, else WEB_CONCURRENCY, else 1; a
    graceful shutdown; the settings' log level; no uvicorn access log (app.core.observability writes
    one JSON access line per request); at most FMT_LIMITS__MAX_CONNECTIONS connections at once
    (uvicorn answers more with 503); and uvicorn's own X-Forwarded-For handling off, whatever
    FORWARDED_ALLOW_IPS says: the app applies FMT_TRUSTED_PROXIES (app/middleware/stack.py)."""
    workers = settings.workers or int(environ.get("WEB_CONCURRENCY") or 1)
    return {
        "factory": True,
        "host": settings.host,
        "port": settings.port,
        "workers": workers,
        "log_level": settings.log_level.lower(),
        "timeout_graceful_shutdown": settings.shutdown_grace_s,
        "access_log": False,
        "proxy_headers": False,
        "limit_concurrency": settings.limits.max_connections,
    }


def main() -> None:
    uvicorn.run("app.main:create_app", **uvicorn_options(get_settings(), os.environ))


if __name__ == "__main__":
    main()

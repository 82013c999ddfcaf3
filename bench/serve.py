"""`loyalty serve --no-migrate` with N uvicorn worker processes, for a service without --workers.

The hot-path benchmark uses the service's own `loyalty serve --workers N` when its CLI
offers it; before that exists (issue 11, item 1), N > 1 workers are started here the way
uvicorn runs any app with several workers: one supervisor binds the port and spawns N
processes, each building the app with server.app.create_app() from the same LOYALTY_*
settings and serving with the options `loyalty serve` passes to uvicorn. Each process
runs the service's startup and its own job loop (nothing coordinates them yet: the jobs
are idempotent). Migrations are applied beforehand (`loyalty migrate`).

    LOYALTY_... python -m bench.serve --workers 2
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette


def app() -> Starlette:
    """The factory every worker process calls."""
    from core.settings import get_settings
    from server.app import create_app

    return create_app(get_settings())


def main() -> None:
    from core.settings import get_settings

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    settings = get_settings()
    settings.require_secrets()
    uvicorn.run(
        "bench.serve:app",
        factory=True,
        workers=args.workers,
        host=settings.host,
        port=settings.port,
        log_level="info" if not settings.production else "warning",
        ws_per_message_deflate=False,
        ws_max_size=settings.max_body_bytes,
        lifespan="on",
    )


if __name__ == "__main__":
    main()

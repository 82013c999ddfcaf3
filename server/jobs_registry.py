"""Imports every module that registers a job with @server.jobs.job, so they all run."""

from __future__ import annotations

import importlib

JOB_MODULES: list[str] = [
    "server.ledger_jobs",
    "server.tier_jobs",
    "server.leaderboard_jobs",
    "server.engage_jobs",
    "server.care_jobs",
]


def load() -> None:
    for module in JOB_MODULES:
        importlib.import_module(module)

"""Idempotency keys: a retried write returns the first answer, a changed one is refused.

`claim()` inserts the (kind, key) row first thing in the write's transaction, so a
concurrent duplicate blocks on the unique index and fails once the first commits;
`find()` then reads the stored answer. Same key with another fingerprint:
IDEMPOTENCY_CONFLICT.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from core import clock
from core.errors import IdempotencyConflict
from rewards.ledger.models import IdempotencyRecord


def fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps([str(p) for p in parts]).encode()).hexdigest()


async def find(kind: str, key: str, digest: str, field: str) -> IdempotencyRecord | None:
    """The stored record for this key, or None; a different request under it is refused."""
    record = await IdempotencyRecord.get_or_none(kind=kind, key=key)
    if record is not None and record.fingerprint != digest:
        raise IdempotencyConflict("this idempotency key was used for a different request", field)
    return record


async def claim(kind: str, key: str, digest: str) -> IdempotencyRecord:
    """Insert the key inside the caller's transaction (IntegrityError if taken meanwhile)."""
    return await IdempotencyRecord.create(
        kind=kind, key=key, fingerprint=digest, result=None, created_at=clock.now()
    )


async def store(record: IdempotencyRecord, result: dict[str, Any]) -> None:
    record.result = result
    await record.save(update_fields=["result"])

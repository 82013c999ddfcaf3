"""Random identifiers: referral codes, voucher codes, opaque cursors."""

from __future__ import annotations

import base64
import re
import secrets

# No 0/O, 1/I/L, 5/S, 2/Z, 8/B: codes are read aloud at the till and typed on phones.
UNAMBIGUOUS = "ACDEFGHJKMNPQRTUVWXY34679"
_CURSOR = re.compile(r"^[A-Za-z0-9_-]+$")


def code(length: int) -> str:
    return "".join(secrets.choice(UNAMBIGUOUS) for _ in range(length))


def token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def encode_cursor(*parts: object) -> str:
    raw = ":".join(str(p) for p in parts)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[str]:
    """Inverse of encode_cursor; raises ValueError on anything else."""
    if not cursor or not _CURSOR.match(cursor):
        raise ValueError("bad cursor")
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        return base64.urlsafe_b64decode(padded.encode()).decode().split(":")
    except Exception as exc:  # binascii.Error, UnicodeDecodeError
        raise ValueError("bad cursor") from exc

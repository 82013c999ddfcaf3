"""`loyalty revoke-api-key`: revoke a stored API key and close its sockets everywhere."""

from __future__ import annotations

import argparse
import sys

from core.errors import NotFound
from core.security import KEY_CACHE_SECONDS, revoke_api_key
from core.settings import Settings


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prefix", required=True, help="the key's first 8 characters")
    parser.add_argument("--id", type=int, help="which key, when several share the prefix")


async def revoke(args: argparse.Namespace, settings: Settings) -> int:
    try:
        row = await revoke_api_key(args.prefix, args.id)
    except NotFound as exc:
        print(f"loyalty: {exc.message}", file=sys.stderr)
        return 1
    print(
        f"revoked api key {row.id} ({row.prefix}, {row.role.lower()}"
        f"{', ' + row.label if row.label else ''}): its sockets close now, "
        f"its requests are refused within {KEY_CACHE_SECONDS:.0f} s"
    )
    return 0

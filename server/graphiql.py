"""GraphiQL without internet: the IDE's page and its pinned assets, served from the package.

strawberry's own page loads React and GraphiQL from a CDN, which leaves the IDE blank on an
offline or firewalled server. The page here is the same, pointing at `graphiql/...` (a path
relative to /graphql, so it also works behind a path prefix), served from
server/static/graphiql (see the README.md there for versions and licences).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
ASSETS = STATIC / "graphiql"
PREFIX = "/graphiql"


@cache
def page() -> str:
    return (STATIC / "graphiql.html").read_text(encoding="utf-8")


def assets() -> Mount:
    return Mount(PREFIX, app=StaticFiles(directory=ASSETS), name="graphiql")

"""GraphiQL draws without internet: its page references only assets the server itself
serves from the package, and each is the pinned file its integrity hash names."""

from __future__ import annotations

import base64
import hashlib
import tomllib
from fnmatch import fnmatch
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from server import graphiql

ROOT = Path(__file__).resolve().parents[2]


class Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        for attribute in ("src", "href"):
            if attribute in values:
                self.found.append({"tag": tag, "url": values[attribute], **values})


async def test_the_ide_page_loads_only_local_pinned_assets(http: httpx.AsyncClient) -> None:
    # given a browser
    # when it asks for the GraphiQL page
    page = await http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    parser = Assets()
    parser.feed(page.text)
    assets = [a for a in parser.found if not a["url"].startswith("data:")]
    # then it names React, GraphiQL and its explorer, all on this server
    assert len(assets) == 7
    for asset in assets:
        assert not urlsplit(asset["url"]).scheme and not asset["url"].startswith("//"), asset
    assert "unpkg" not in page.text and "https://" not in page.text
    # and each answers with the very file its integrity hash pins
    for asset in assets:
        url = urljoin(str(page.url), asset["url"])
        served = await http.get(url)
        assert served.status_code == 200, url
        kind = "javascript" if asset["tag"] == "script" else "text/css"
        assert kind in served.headers["content-type"], (url, served.headers)
        digest = base64.b64encode(hashlib.sha384(served.content).digest()).decode()
        assert asset["integrity"] == f"sha384-{digest}", url


def test_the_assets_are_package_data() -> None:
    # given the package's data: every file the page needs is installed with the package, not
    # only in a checkout
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["server"]
    static = ROOT / "server"
    # when the static files are listed
    files = [p.relative_to(static).as_posix() for p in graphiql.STATIC.rglob("*") if p.is_file()]
    # then each is matched by a package-data glob
    assert len(files) >= 8
    assert [f for f in files if not any(fnmatch(f, g) for g in globs)] == []

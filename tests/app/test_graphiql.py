"""GraphiQL works offline: its page names only files the app serves, and a real browser that
can reach nothing but the local server renders it."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.graphiql import ASSETS_PATH
from app.main import create_app
from app.settings import Settings
from processes import free_port, new_token, spawned, wait_ready

HTML = {"Accept": "text/html"}
# Debian's package installs `chromium`; other systems name it otherwise.
BROWSER = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)


async def _client(graphiql: bool) -> AsyncIterator[httpx.AsyncClient]:
    # Neither the page nor its assets touch the database: no lifespan needed.
    app = create_app(Settings(database_url="sqlite://:memory:", graphiql=graphiql))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def asset_urls(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', page)


async def test_the_page_needs_no_token_and_every_asset_it_names_is_served() -> None:
    async for client in _client(graphiql=True):
        page = await client.get("/graphql", headers=HTML)
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        urls = asset_urls(page.text)
        assert len(urls) == 6, urls
        for url in urls:
            # Nothing from elsewhere: no CDN, no scheme-relative URL.
            assert url.startswith(f"{ASSETS_PATH}/"), url
            asset = await client.get(url)
            assert asset.status_code == 200, url
            kind = "text/css" if url.endswith(".css") else "javascript"
            assert kind in asset.headers["content-type"], (url, asset.headers["content-type"])
        # The queries still need one.
        query = await client.post("/graphql", json={"query": "{ viewer { id } }"})
        assert query.status_code == 401


async def test_without_graphiql_neither_page_nor_assets_are_served() -> None:
    async for client in _client(graphiql=False):
        assert (await client.get("/graphql", headers=HTML)).status_code == 401
        assert (await client.get(f"{ASSETS_PATH}/page.js")).status_code == 404


def render(url: str, profile: Path) -> str:
    """The page's DOM once scripts ran, in headless Chromium that can reach only this machine."""
    assert BROWSER is not None
    return subprocess.run(
        [
            BROWSER,
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            f"--user-data-dir={profile}",
            # Every host but this machine's is unreachable, as with no internet.
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            "--virtual-time-budget=10000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout


@pytest.mark.skipif(BROWSER is None, reason="no Chromium installed (apt-get install chromium)")
def test_a_browser_without_internet_renders_graphiql_and_sends_the_token(tmp_path: Path) -> None:
    port = free_port()
    env = {"DATABASE_URL": f"sqlite://{tmp_path / 'ide.sqlite3'}", "SEGMENTS_GRAPHIQL": "true"}
    log = tmp_path / "server.log"
    command = ["serve", "--demo", "--demo-contacts", "10", "--port", str(port)]
    with spawned(command, env, log):
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, lambda response: response.status_code == 200)
        token = new_token(log.read_text())

        dom = render(f"{base}/graphql", tmp_path / "fresh")
        assert "graphiql-editor" in dom, dom[:2000]
        assert "Loading…" not in dom and 'id="token-bar"' in dom
        # GraphiQL asked our server for the schema with no token: the 401 shows.
        assert "Authentication required" in dom, dom[-3000:]

        # A link's fragment sets the token (the demo prints one); a bad token is sent too.
        dom = render(f"{base}/graphql#token=sgt_{'0' * 18}_nope", tmp_path / "bad")
        assert "The token is invalid or revoked" in dom, dom[-3000:]
        dom = render(f"{base}/graphql#token={token}", tmp_path / "good")
    assert "graphiql-editor" in dom and "set, kept in this browser" in dom
    assert "Authentication required" not in dom and "invalid or revoked" not in dom

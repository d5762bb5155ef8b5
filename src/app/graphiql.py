"""GraphiQL served from the package, so the page works without internet: the vendored assets
(static/graphiql/, its README says which versions and from where) under ASSETS_PATH, and a page
that keeps an API token in the browser and sends it with every query."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.staticfiles import StaticFiles

ASSETS_PATH = "/graphiql-assets"
_STATIC = Path(__file__).resolve().parent / "static"


def assets() -> StaticFiles:
    return StaticFiles(directory=_STATIC / "graphiql")


@cache
def _template() -> str:
    return (_STATIC / "graphiql.html").read_text(encoding="utf-8")


def page(root_path: str = "") -> str:
    """The page, its asset URLs under the app's mount point."""
    return _template().replace("{assets}", root_path + ASSETS_PATH)

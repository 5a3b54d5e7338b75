"""The web console: the built single-page app (``console/dist``) served at ``/``.

Files are served as they are; any other path that is not the API's, the docs' or an ops
endpoint gets ``index.html``, so the console's own routes (``/customers/<id>``) survive a
reload. Hashed assets are cached for good; ``index.html`` never is (it names the hashes).
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from servicekit.problems import Problem
from starlette.convertors import Convertor, register_url_convertor

# paths the console never answers, even when nothing else does
RESERVED = ("api", "docs", "redoc", "openapi.json", "asyncapi.json", "health", "ready")


def _reserved(path: str) -> bool:
    first = path.split("/", 1)[0]
    return first in RESERVED


class ConsolePath(Convertor[str]):
    """Any path but the reserved ones: an API path no route takes is left to the router (a 404,
    or a 405 naming the methods the path takes), not taken for a page."""

    regex = "(?!(?:" + "|".join(re.escape(r) for r in RESERVED) + ")(?:/|$)).*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("console", ConsolePath())


def install(app: FastAPI, dist: Path) -> None:
    """Serve ``dist`` at ``/``; registered after every other route, so those win."""
    root = dist.resolve()
    index = root / "index.html"

    @app.get("/{path:console}", include_in_schema=False)
    async def console(path: str) -> FileResponse:
        if _reserved(path):
            raise Problem(f"no route /{path}", status=404, code="not-found", title="Not found")
        if path:
            wanted = (root / path).resolve()
            if wanted.is_relative_to(root) and wanted.is_file():
                immutable = wanted.parent.name == "assets"
                cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
                return FileResponse(wanted, headers={"cache-control": cache})
        if not index.is_file():
            raise Problem(
                "the console is not built (./dev up builds it)",
                status=404,
                code="console-not-built",
                title="Not found",
            )
        return FileResponse(index, headers={"cache-control": "no-cache"})

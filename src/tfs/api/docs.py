"""The contract: the OpenAPI document at /openapi.json and a page to read it."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from tfs.api import render
from tfs.config import Settings


def openapi(settings: Settings) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Traditional Fulfillment Service", "version": "0.1.0"},
        "paths": {},
    }


def routes(settings: Settings) -> list[Route]:
    document = render.encode(openapi(settings))

    async def openapi_json(_request: Request) -> Response:
        return Response(document, media_type="application/json")

    async def docs_page(_request: Request) -> Response:
        return HTMLResponse("<html><body><a href='/openapi.json'>openapi.json</a></body></html>")

    return [Route("/openapi.json", openapi_json), Route("/docs", docs_page)]

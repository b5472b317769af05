"""Serving the browser client (web/dist) with the headers end-to-end encryption needs.

The client runs DAVE (davey, WebAssembly with SharedArrayBuffer) in a worker, which browsers
allow only on cross-origin-isolated pages: every response carries COOP `same-origin` and COEP
`require-corp`. The same middleware adds headers that keep the page from leaking: no referrer
(an invite link's path names the summit), no MIME sniffing, no framing by other sites.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Python's table lacks these on some systems; a worker module or wasm served as text/plain fails.
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("application/wasm", ".wasm")

SECURITY_HEADERS = {
    b"cross-origin-opener-policy": b"same-origin",
    b"cross-origin-embedder-policy": b"require-corp",
    b"cross-origin-resource-policy": b"same-origin",
    b"referrer-policy": b"no-referrer",
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
}


class SecurityHeaders:
    """ASGI middleware: the headers above on every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS.items() if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def default_web_dir() -> Path:
    """web/dist of the checkout this package runs from."""
    return Path(__file__).resolve().parents[3] / "web" / "dist"


def mount_web_client(app: FastAPI, web_dir: Path) -> None:
    """`/join/{summit}` is the client's page; its assets are served from the root."""

    @app.get("/join/{summit_id}", include_in_schema=False)
    def join_page(summit_id: str) -> FileResponse:
        index = web_dir / "index.html"
        if not index.is_file():
            raise HTTPException(503, "the web client is not built here (scripts/setup builds it)")
        return FileResponse(index, headers={"Cache-Control": "no-store"})

    if web_dir.is_dir():
        app.mount("/", StaticFiles(directory=web_dir), name="web")

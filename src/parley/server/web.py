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
from fastapi.responses import FileResponse, PlainTextResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parley.server.origins import origin_of
from parley.server.web_bundle import MANIFEST_PATH, manifest, read_dist

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


def content_security_policy(parley_server: str | None = None) -> str:
    """The page's CSP: its own scripts only (and davey's wasm), no other origin, no inline code.

    Sent as a header rather than a meta tag in index.html, so a client served from a delegation's
    own origin (`parley web-serve`) can name the one Parley server it talks to in `connect-src`.
    `parley_server`: that server's origin (http/https); its WebSocket (ws/wss) is allowed with it.
    """
    connect = "'self'"
    if parley_server is not None:
        websocket = "ws" + parley_server.removeprefix("http")
        connect = f"'self' {parley_server} {websocket}"
    return (
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; "
        f"connect-src {connect}; media-src 'self' blob: mediastream:; img-src 'self' data:; "
        "style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'"
    )


class SecurityHeaders:
    """ASGI middleware: the headers above and the CSP on every HTTP response."""

    def __init__(self, app: ASGIApp, csp: str | None = None) -> None:
        self.app = app
        self.headers = {
            **SECURITY_HEADERS,
            b"content-security-policy": (csp or content_security_policy()).encode(),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers.items() if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def default_web_dir() -> Path:
    """web/dist of the checkout this package runs from."""
    return Path(__file__).resolve().parents[3] / "web" / "dist"


def mount_web_client(app: FastAPI, web_dir: Path) -> None:
    """`/join/{summit}` is the client's page; its assets are served from the root, and the
    manifest of them all (made once, at start) at MANIFEST_PATH: see parley.server.web_bundle."""

    @app.get("/join/{summit_id}", include_in_schema=False)
    def join_page(summit_id: str) -> FileResponse:
        index = web_dir / "index.html"
        if not index.is_file():
            raise HTTPException(503, "the web client is not built here (scripts/setup builds it)")
        return FileResponse(index, headers={"Cache-Control": "no-store"})

    if web_dir.is_dir():
        listing = manifest(read_dist(web_dir))

        @app.get(MANIFEST_PATH, include_in_schema=False)
        def bundle_manifest() -> PlainTextResponse:
            return PlainTextResponse(listing, headers={"Cache-Control": "no-store"})

        app.mount("/", StaticFiles(directory=web_dir), name="web")


def client_app(web_dir: Path, parley_server: str) -> FastAPI:
    """The browser client alone, as a delegation serves it from its own origin (`parley web-serve`):
    the same files, page and headers as the Parley server's, with that one server in `connect-src`."""
    app = FastAPI(title="Parley browser client", openapi_url=None, docs_url=None, redoc_url=None)
    app.add_middleware(SecurityHeaders, csp=content_security_policy(origin_of(parley_server)))
    mount_web_client(app, web_dir)
    return app

"""Which browser pages may talk to this server: its own origin, and the delegations' client origins.

A browser names the page's origin in every WebSocket handshake and cross-origin request
(`Origin`). The server's own origin (its public URL) may use everything it serves. A delegation
that does not want to run the code this server sends can serve the browser client from its own
origin (`client_origins` in the settings; `parley web-serve`); such an origin may use the two
things the client needs and nothing else: `POST /api/invitations/check` (with CORS) and the
signalling WebSocket. Any other origin's WebSocket handshake is refused (HTTP 403), and its
requests get no CORS headers, so its page cannot read the answers.

A request without `Origin` does not come from a web page (the SDK, a bot): no browser page can
omit it on a WebSocket, so it is not the browser's protection that is at stake.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The HTTP endpoints the browser client calls (the WebSocket is checked where it is accepted).
CLIENT_ENDPOINTS = frozenset({"/api/invitations/check"})
#: How long a browser may reuse a preflight's answer.
PREFLIGHT_MAX_AGE = 600
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str:
    """The origin `scheme://host[:port]` of an http(s) URL, as browsers write it in `Origin`."""
    parts = urlsplit(url.strip())
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) origin such as https://client.example.org")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{url!r} is not an origin: give scheme, host and port only")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    port = "" if parts.port in (None, _DEFAULT_PORTS[parts.scheme]) else f":{parts.port}"
    return f"{parts.scheme}://{host}{port}"


def client_link(link: str, client_origin: str) -> str:
    """An invite link rewritten to open the browser client a delegation serves at `client_origin`;
    the fragment names the Parley server (the client talks to it) beside the token."""
    parts = urlsplit(link)
    if not parts.path.startswith("/join/") or not parts.fragment or "=" in parts.fragment:
        raise ValueError("an invite link looks like https://host/join/<summit>#<token>")
    fragment = urlencode({"server": origin_of(f"{parts.scheme}://{parts.netloc}"), "token": parts.fragment})
    return f"{origin_of(client_origin)}{parts.path}#{fragment}"


@dataclass(frozen=True)
class BrowserOrigins:
    """The server's own origin and the delegations' client origins."""

    own: str
    clients: frozenset[str]

    @classmethod
    def of(cls, base_url: str, client_origins: Iterable[str]) -> BrowserOrigins:
        return cls(origin_of(base_url), frozenset(origin_of(o) for o in client_origins))

    def may_connect(self, origin: str | None) -> bool:
        """May a WebSocket handshake with this `Origin` header (None: none sent) be accepted?"""
        return origin is None or origin == self.own or origin in self.clients


class ClientCors:
    """ASGI middleware: CORS for the client origins, on CLIENT_ENDPOINTS only.

    The client's fetch sends JSON without credentials, so a preflight (OPTIONS) comes first; it is
    answered here, and the real answer carries `Access-Control-Allow-Origin` for that origin alone.
    """

    def __init__(self, app: ASGIApp, origins: BrowserOrigins) -> None:
        self.app = app
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin = Headers(scope=scope).get("origin") if scope["type"] == "http" else None
        if origin not in self.origins.clients or scope["path"] not in CLIENT_ENDPOINTS:
            await self.app(scope, receive, send)
            return
        allow = {"access-control-allow-origin": origin, "vary": "Origin"}
        if scope["method"] == "OPTIONS":
            preflight = {
                **allow,
                "access-control-allow-methods": "POST",
                "access-control-allow-headers": "content-type",
                "access-control-max-age": str(PREFLIGHT_MAX_AGE),
            }
            await Response(status_code=204, headers=preflight)(scope, receive, send)
            return

        async def send_allowed(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(k.encode(), v.encode()) for k, v in allow.items()]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_allowed)

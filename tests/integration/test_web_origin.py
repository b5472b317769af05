"""What the real server tells browsers about its page, and which pages' origins it lets in.

The CSP is a response header on the page and on everything it loads (not a meta tag a delegation's
copy could not widen); the signalling WebSocket refuses a handshake from an origin that is neither
the server's own nor a configured client origin, and CORS opens only the invitation check, only to
the client origins.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import websockets
from calls import local_server, summit_links
from support import identify_data
from websockets.typing import Origin

from parley.server.runtime import ParleyServer
from parley.server.web import content_security_policy
from parley.summit.model import Role

pytestmark = pytest.mark.anyio

CLIENT_ORIGIN = "http://127.0.0.1:8481"  # where a delegation serves the client (nothing need listen)
STRANGER = "http://127.0.0.1:8482"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ParleyServer]:
    async with local_server(tmp_path / "parley", client_origins=[CLIENT_ORIGIN]) as parley:
        yield parley


def websocket_url(link: str) -> str:
    base, _, path = link.partition("/join/")
    return f"ws{base.removeprefix('http')}/api/summits/{path.partition('#')[0]}/ws"


async def test_the_page_and_everything_it_loads_carry_the_csp_as_a_header(server: ParleyServer) -> None:
    (link,) = summit_links(server, [("Delegation A", Role.PRINCIPAL)])
    async with httpx.AsyncClient() as http:
        page = await http.get(link.partition("#")[0])
        assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', page.text)
        assert page.status_code == 200 and assets
        responses = [page, *[await http.get(server.settings.base_url + a) for a in assets]]
    for response in responses:
        assert response.headers["content-security-policy"] == content_security_policy()
    # One policy, the header's: a meta tag would add a second one that a delegation could not widen.
    assert "Content-Security-Policy" not in page.text
    assert "connect-src 'self';" in content_security_policy()


async def test_a_websocket_from_an_origin_not_configured_is_refused(server: ParleyServer) -> None:
    links = summit_links(server, [("Delegation A", Role.PRINCIPAL)] * 3)
    url = websocket_url(links[0])
    for stranger in (STRANGER, "https://127.0.0.1:8481", "null"):
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(url, origin=Origin(stranger)):
                raise AssertionError(f"a WebSocket from {stranger} was accepted")
        assert refused.value.response.status_code == 403

    own = server.settings.base_url
    # The server's own page, a delegation's client, the SDK (which sends no Origin): each joins.
    for link, origin in zip(links, (own, CLIENT_ORIGIN, None), strict=True):
        token = link.partition("#")[2]
        async with websockets.connect(url, origin=Origin(origin) if origin else None) as ws:
            identify = identify_data(token, ["Principal A"])
            await ws.send(json.dumps({"op": "identify", "d": identify}))
            answer = json.loads(await ws.recv())
            assert answer["op"] == "ready", (origin, answer)


async def test_cors_opens_only_the_invitation_check_and_only_to_client_origins(server: ParleyServer) -> None:
    (link,) = summit_links(server, [("Delegation A", Role.PRINCIPAL)])
    summit_id, _, token = link.partition("/join/")[2].partition("#")
    check = server.settings.base_url + "/api/invitations/check"
    body = {"summit_id": summit_id, "token": token}
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    async with httpx.AsyncClient() as http:
        allowed = await http.options(check, headers={"Origin": CLIENT_ORIGIN, **preflight})
        assert allowed.status_code == 204
        assert allowed.headers["access-control-allow-origin"] == CLIENT_ORIGIN
        assert allowed.headers["access-control-allow-methods"] == "POST"
        answer = await http.post(check, json=body, headers={"Origin": CLIENT_ORIGIN})
        assert answer.status_code == 200 and answer.json()["delegation"] == "Delegation A"
        assert answer.headers["access-control-allow-origin"] == CLIENT_ORIGIN

        stranger = await http.options(check, headers={"Origin": STRANGER, **preflight})
        assert "access-control-allow-origin" not in stranger.headers
        answer = await http.post(check, json=body, headers={"Origin": STRANGER})
        assert "access-control-allow-origin" not in answer.headers
        # Nothing else is opened to a client origin: not the organiser API, not the page.
        for path in ("/api/summits", "/api/health", f"/join/{summit_id}"):
            other = await http.get(server.settings.base_url + path, headers={"Origin": CLIENT_ORIGIN})
            assert "access-control-allow-origin" not in other.headers, path

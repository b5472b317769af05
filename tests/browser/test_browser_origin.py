"""A delegation serves the browser client from its own origin, and the call works from there.

The delegation runs `parley web-serve` (the built client, with the same headers and a CSP naming
the one Parley server) on another loopback port; the Parley server lists that origin in
`client_origins`. A browser opens the link rewritten for it (`parley web-link`), joins the summit
and decodes an SDK device's media, and the SDK device decodes the browser's. A copy served from an
origin the server does not list cannot check its invitation, and its WebSocket is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import pytest
import uvicorn
from browsers import Browsers, decodes, join_in_browser, state, wait_until
from calls import free_port, local_server, summit_links, until
from playwright.async_api import expect

from parley.media.sources import PatternVideoTrack, ToneAudioTrack
from parley.sdk.client import ParleyClient
from parley.server.origins import client_link
from parley.server.web import client_app, default_web_dir
from parley.summit.model import Role

pytestmark = pytest.mark.anyio

# What the page itself sees of a WebSocket to the Parley server: opened, or refused before opening.
OPENS = """(url) => new Promise((done) => {
  const ws = new WebSocket(url);
  ws.onopen = () => { ws.close(); done("open"); };
  ws.onclose = () => done("refused");
})"""


@contextlib.asynccontextmanager
async def delegation_client(parley_server: str, port: int) -> AsyncIterator[str]:
    """`parley web-serve --server PARLEY_SERVER --port PORT` in this loop; yields its origin."""
    app = client_app(default_web_dir(), parley_server)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    await until(lambda: server.started or serving.done(), 10, "the delegation's client server to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


def _sdk_decodes(sdk: ParleyClient, user_id: int) -> bool:
    feed = sdk.feeds.get(user_id)
    return feed is not None and feed.video_frames >= 10 and feed.audio_frames >= 25


async def test_a_client_served_from_a_delegations_origin_joins_and_an_unlisted_origin_is_refused(
    tmp_path: Path, browsers: Browsers, output: Path
) -> None:
    listed_port, unlisted_port = free_port(socket.SOCK_STREAM), free_port(socket.SOCK_STREAM)
    listed = f"http://127.0.0.1:{listed_port}"
    invites = [
        ("Delegation A", Role.PRINCIPAL),
        ("Delegation B", Role.PRINCIPAL),
        ("Delegation B", Role.DELEGATE),
    ]
    async with (
        local_server(tmp_path / "parley", client_origins=[listed]) as parley,
        delegation_client(parley.settings.base_url, listed_port) as origin,
        delegation_client(parley.settings.base_url, unlisted_port) as unlisted,
    ):
        browser_link, sdk_link, stranger_link = summit_links(parley, invites)
        sdk = ParleyClient(sdk_link, ["Principal B"], audio=ToneAudioTrack(660.0), video=PatternVideoTrack(5))
        await sdk.join()
        try:
            page = await browsers.page("delegation-a")
            user_id = await join_in_browser(page, client_link(browser_link, origin), ["Principal A"])
            assert page.url.startswith(f"{origin}/join/")  # the page came from the delegation's origin
            assert await page.evaluate("crossOriginIsolated")
            await wait_until(
                lambda: decodes(page, str(sdk.user_id)), 40, "the browser to decode the SDK device"
            )
            await until(partial(_sdk_decodes, sdk, int(user_id)), 30, "the SDK device to decode the browser")
            await expect(page.get_by_test_id("encryption-indicator")).to_contain_text("End-to-end encrypted")
            assert (await state(page))["decryptFailures"] == 0
            await page.screenshot(path=str(output / "client-from-delegation-origin.png"))

            # The same client from an origin the server does not list: the invitation check is
            # blocked (no CORS for it), and a WebSocket the page opens to the server is refused.
            stranger = await browsers.page("unlisted")
            await stranger.goto(client_link(stranger_link, unlisted))
            await expect(stranger.get_by_test_id("link-error")).to_contain_text(
                "cannot be reached", timeout=15_000
            )
            ws_url = "ws" + parley.settings.base_url.removeprefix("http") + "/api/summits/x/ws"
            assert await stranger.evaluate(OPENS, ws_url) == "refused"
            assert await page.evaluate(OPENS, ws_url) == "open"  # the listed origin's page: accepted
        finally:
            await sdk.close()

"""The browser's requests against the real server: each answer or refusal settles the one request
whose id it carries, and every op the server sends passes the generated schema check.

Real Chromium, the real server and Janus, an SDK device publishing. The browser is told (test
switch `testAlsoSubscribe`, honoured only on a server with test hooks) to ask for a feed nobody
publishes, in the same breath as the real one: the server refuses that one (`no_such_feed`), and
the browser keeps the other subscription, which it never has to ask for again, and decodes it.
"""

from __future__ import annotations

import pytest
from browsers import Browsers, decodes, join_in_browser, state, wait_until
from calls import joined, publishing, summit_links, until

from parley.server.runtime import ParleyServer
from parley.summit.model import Role

pytestmark = pytest.mark.anyio

NOBODY = 424_242  # a feed id no device has


async def test_a_refused_subscription_fails_alone_and_the_other_keeps_decoding(
    parley: ParleyServer, browsers: Browsers
) -> None:
    links = summit_links(parley, [("Delegation A", Role.PRINCIPAL), ("Delegation B", Role.PRINCIPAL)])
    async with joined(links[0], "A") as sdk:
        # Publishing before the browser is admitted: its first subscriptions go out together.
        await until(lambda: publishing(sdk, sdk), 20, "the SDK device to publish")
        page = await browsers.page("requests")
        path, _, fragment = links[1].partition("#")
        await join_in_browser(page, f"{path}?testAlsoSubscribe={NOBODY}#{fragment}", ["Principal B"])
        feed = str(sdk.user_id)

        async def refused() -> bool:
            code = (await state(page))["refusedFeeds"].get(str(NOBODY))
            return bool(code == "no_such_feed")

        await wait_until(refused, 20, "the server to refuse the feed nobody publishes")
        await wait_until(lambda: decodes(page, feed), 40, "the browser to decode the SDK device")
        first = await state(page)
        # The refusal failed its own request only: the other was never dropped and asked again.
        assert first["subscribeRequests"][feed] == 1
        assert feed not in first["refusedFeeds"]

        async def still_decoding() -> bool:
            now = (await state(page))["peers"][feed]["framesDecoded"]
            return bool(now > first["peers"][feed]["framesDecoded"] + 15)

        await wait_until(still_decoding, 10, "the browser to keep decoding the SDK device")
        final = await state(page)
        assert final["subscribeRequests"][feed] == 1
        assert final["invalidOps"] == 0  # every op the real server sent passed the schema check

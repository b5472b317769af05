"""Bad links and bad messages: refused with clear errors, and the summit goes on for the others."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import websockets
from calls import PATTERNS, THREE_DEVICES, joined, receiving, summit_links, until
from support import identify_data

from parley.protocol.fields import MAX_TEXT_FRAME
from parley.sdk.client import InviteLink, JoinError, ParleyClient
from parley.server.runtime import ParleyServer
from parley.server.signaling import MAX_ERRORS
from parley.summit.invitations import Claims
from parley.summit.model import Role

pytestmark = pytest.mark.anyio


async def refused(link: str) -> JoinError:
    with pytest.raises(JoinError) as caught:
        await ParleyClient(link, ["Someone"]).join()
    return caught.value


async def test_forged_expired_revoked_and_wrong_summit_links_are_refused(parley: ParleyServer) -> None:
    (link,) = summit_links(parley, [("Delegation A", Role.PRINCIPAL)])
    parsed = InviteLink.parse(link)

    forged = link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB")
    assert (await refused(forged)).code == "invitation_forged"

    claims = parley.signer.verify(parsed.token)
    expired = parley.signer.mint(
        Claims(
            claims.invitation_id,
            claims.summit_id,
            claims.delegation_id,
            claims.role,
            int(datetime.now(UTC).timestamp()) - 1,
        )
    )
    error = await refused(parley.state.organiser.link(parsed.summit_id, expired))
    assert error.code == "invitation_expired" and "expired" in str(error)

    (other,) = summit_links(parley, [("Delegation B", Role.PRINCIPAL)])
    wrong = parley.state.organiser.link(InviteLink.parse(other).summit_id, parsed.token)
    assert (await refused(wrong)).code == "invitation_wrong_summit"

    assert parley.store.revoke_invitation(claims.invitation_id)
    assert (await refused(link)).code == "invitation_revoked"

    summit = parley.store.get_summit(parsed.summit_id)
    assert summit is not None
    _, fresh = parley.state.organiser.invite(
        summit, claims.delegation_id, Role.PRINCIPAL, timedelta(minutes=5)
    )
    client = ParleyClient(fresh, ["Someone"])
    await client.join()  # and a good link still works
    await client.close()


async def test_bad_messages_get_error_ops_then_the_abuser_is_cut_off_and_the_call_goes_on(
    parley: ParleyServer,
) -> None:
    links = summit_links(parley, THREE_DEVICES)
    async with joined(links[0], "A") as a, joined(links[1], "B1") as b1:
        await until(lambda: receiving(b1.feeds.get(a.user_id), PATTERNS["A"]), 30, "B1 to receive A")
        abuser = InviteLink.parse(links[2])
        async with websockets.connect(abuser.websocket_url, max_size=None) as ws:
            identify = identify_data(abuser.token, ["Mallory"])
            await ws.send(json.dumps({"op": "identify", "d": identify}))
            assert json.loads(await ws.recv())["op"] == "ready"

            async def error_for(message: str | bytes) -> dict[str, object]:
                """The error answering this frame: the one with its request id when it has one
                (a frame that names none is answered by an error without an id)."""
                request = (
                    json.loads(message).get("id") if isinstance(message, str) and "id" in message else None
                )
                await ws.send(message)
                while True:
                    reply = await ws.recv()
                    answer = json.loads(reply) if isinstance(reply, str) else {}
                    if answer.get("op") == "error" and answer.get("id") == request:
                        d: dict[str, object] = answer["d"]
                        return d

            assert (await error_for("{not json"))["code"] == "malformed"
            assert (await error_for(json.dumps({"op": "dance", "id": 1, "d": {}})))["code"] == "unknown_op"
            invalid = await error_for(json.dumps({"op": "subscribe", "id": 2, "d": {"feed": "everyone"}}))
            assert invalid["code"] == "invalid" and "feed" in str(invalid["message"])
            assert (await error_for("x" * (MAX_TEXT_FRAME + 1)))["code"] == "too_large"
            assert (await error_for(b"\x1c" + bytes(40)))["code"] == "dave_malformed"
            dave = await error_for(json.dumps({"op": 23, "d": {"transition_id": "x"}}))
            assert dave["code"] == "invalid" and dave["op"] == 23
            with pytest.raises(websockets.ConnectionClosed) as closed:
                for _ in range(MAX_ERRORS):
                    await error_for(json.dumps({"op": "dance", "d": {}}))
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4008

        frames = b1.feeds[a.user_id].video_frames
        await until(lambda: b1.feeds[a.user_id].video_frames > frames + 10, 10, "the call to go on")
        await until(lambda: receiving(a.feeds.get(b1.user_id), PATTERNS["B1"]), 10, "A to receive B1")

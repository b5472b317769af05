"""The summit's course against the real server and Janus: lobby, press cut, clock, host controls."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
import websockets
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from calls import PATTERNS, all_decode, from_office, join, joined, receiving, summit_links, until
from support import identify_data
from wan.profiles import Profile, join_allowance, longest_freeze

from parley.e2ee.gateway import TRANSITION_TIMEOUT
from parley.media.frame_transform import attach_receiver_transform
from parley.media.janus_api import Jsep
from parley.media.janus_client import JanusClient
from parley.media.videoroom import StreamRequest, VideoRoomSubscriber
from parley.protocol.codes import ErrorCode
from parley.protocol.device_ops import PhaseName
from parley.sdk.client import InviteLink, JoinError, ParleyClient
from parley.sdk.member import Media
from parley.sdk.requests import Disconnected, RequestRefused
from parley.server.runtime import ParleyServer
from parley.summit.course import Admission, AtEnd, Phase
from parley.summit.model import Role

pytestmark = pytest.mark.anyio


class RawDevice:
    """A device speaking the protocol by hand, to see exactly what the server sends it."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self._ids = itertools.count(1)

    async def op(self, op: str, d: dict[str, Any]) -> None:
        await self.ws.send(json.dumps({"op": op, "d": d}))

    async def ask(self, op: str, d: dict[str, Any]) -> dict[str, Any]:
        """Send a request and read on, past events and others' errors, to its own answer."""
        request = next(self._ids)
        await self.ws.send(json.dumps({"op": op, "d": d, "id": request}))
        while (answer := await self.next_text()).get("id") != request:
            pass
        return answer

    async def next_text(self, timeout: float = 5) -> dict[str, Any]:
        while True:
            frame = await asyncio.wait_for(self.ws.recv(), timeout)
            if isinstance(frame, str):
                message: dict[str, Any] = json.loads(frame)
                return message

    async def drain(self, seconds: float) -> list[str | bytes]:
        got: list[str | bytes] = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while True:
                    got.append(await self.ws.recv())
        return got


@contextlib.asynccontextmanager
async def raw(link: str, name: str, delegation: str) -> AsyncIterator[tuple[RawDevice, dict[str, Any]]]:
    parsed = InviteLink.parse(link)
    with from_office(delegation):
        connection = await websockets.connect(parsed.websocket_url)
    async with connection as ws:
        device = RawDevice(ws)
        identify = identify_data(parsed.token, [name])
        await device.op("identify", identify)
        yield device, await device.next_text()


async def test_a_device_in_the_lobby_gets_no_keys_no_media_until_admitted(parley: ParleyServer) -> None:
    host_link, b_link, c_link = summit_links(
        parley,
        [("Delegation A", Role.HOST), ("Delegation B", Role.PRINCIPAL), ("Delegation B", Role.DELEGATE)],
        admission=Admission.HOST,
    )
    async with joined(host_link, "A") as host, raw(b_link, "Principal B", "Delegation B") as (b, ready):
        assert ready["op"] == "ready" and ready["d"]["admitted"] is False
        waiting = int(ready["d"]["device"]["user_id"])
        await until(lambda: [w.user_id for w in host.lobby] == [waiting], 5, "the host to see the lobby")

        # Nothing that carries keys or media reaches the lobby: no DAVE op, binary or JSON, no roster.
        seen = await b.drain(2.0)
        assert not [f for f in seen if isinstance(f, bytes)]
        ops = [json.loads(f)["op"] for f in seen if isinstance(f, str)]
        assert all(isinstance(op, str) for op in ops) and "roster" not in ops, ops
        assert (await b.ask("subscribe", {"feed": host.user_id}))["d"]["code"] == "not_admitted"
        assert (await b.ask("publish", {"sdp": "v=0"}))["d"]["code"] == "not_admitted"

        await host.admit(waiting)
        assert (await b.next_text())["op"] == "admitted"
        after = await b.drain(2.0)
        assert any(isinstance(f, bytes) and f[2] == 25 for f in after), "the external sender package"
        assert any(isinstance(f, str) and json.loads(f)["op"] == 11 for f in after), "clients_connect"
        await until(lambda: waiting in host.roster and not host.lobby, 5, "the host to see it admitted")

        async with raw(c_link, "Delegate B", "Delegation B") as (c, ready_c):
            refused = int(ready_c["d"]["device"]["user_id"])
            await until(lambda: refused in [w.user_id for w in host.lobby], 5, "C in the lobby")
            await host.refuse(refused)
            error = await c.next_text()
            assert error["op"] == "error" and error["d"]["code"] == "admission_refused"
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await c.ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4003
        assert [e[1] for e in parley.store.read_log(InviteLink.parse(b_link).summit_id)] == [
            "admitted",
            "refused",
        ]


async def test_the_press_cut_rotates_keys_the_press_cannot_decrypt_after_and_the_floor_does_not_gap(
    parley: ParleyServer, wan_profile: Profile | None
) -> None:
    links = summit_links(
        parley,
        [("Delegation A", Role.HOST), ("Delegation B", Role.PRINCIPAL), ("Delegation B", Role.PRESS)],
    )
    async with joined(links[0], "A") as host, joined(links[1], "B1") as b:
        await host.advance("lobby")
        await host.advance("opening")
        press = ParleyClient(links[2], ["Press pool"])
        await join(press, "Delegation B")
        try:
            await until(
                lambda: receiving(press.feeds.get(host.user_id), PATTERNS["A"]), 30, "the press to see A"
            )
            await until(lambda: receiving(b.feeds.get(host.user_id), PATTERNS["A"]), 30, "B to see A")
            await until(lambda: receiving(host.feeds.get(b.user_id), PATTERNS["B1"]), 30, "A to see B")
            assert press.publisher is None  # the press never publishes

            # The test keeps its own Janus subscription to A's feed: it is handed every forwarded
            # frame even after the server drops the press, and tries the press's old keys on them.
            assert press.member is not None and host.member is not None
            old_session, host_member = press.member, host.member
            executed = len(host_member.executed_transitions)
            arrivals: list[tuple[float, bytes]] = []
            # When A sealed each video frame: a frame reaches Janus a path's delay later (a resend
            # later still), so what the press can read is judged by when it was sealed, not when it
            # arrived.
            sealed_at: dict[bytes, float] = {}
            seal = host_member.encrypt

            def timed_seal(media: Media, frame: bytes) -> bytes | None:
                sealed = seal(media, frame)
                if sealed is not None and media is Media.VIDEO:
                    sealed_at[sealed] = time.monotonic()
                return sealed

            host_member.encrypt = timed_seal  # type: ignore[method-assign]
            async with await JanusClient.connect(parley.media.url, parley.janus.config.api_secret) as janus:
                spy = await VideoRoomSubscriber.attach(await janus.create_session())
                offer = await spy.join(host.summit.channel_id, [StreamRequest(feed=host.user_id)])
                pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))

                def keep(frame: bytes) -> None:
                    arrivals.append((time.monotonic(), frame))

                @pc.on("track")
                def on_track(track: MediaStreamTrack) -> None:
                    if track.kind == "video":
                        receiver = next(r for r in pc.getReceivers() if r.track is track)
                        attach_receiver_transform(receiver, lambda frame: keep(frame))

                await pc.setRemoteDescription(RTCSessionDescription(offer.sdp, "offer"))
                await pc.setLocalDescription(await pc.createAnswer())
                await spy.start(Jsep("answer", pc.localDescription.sdp, trickle=False))
                await until(lambda: len(arrivals) > 10, 10, "the test's own subscription to receive")

                cut = time.monotonic()
                await host.advance("closed_session")
                await until(lambda: press.ended is not None, 5, "the press to be told")
                await until(lambda: len(host_member.executed_transitions) > executed, 5, "the keys to rotate")
                rotated = time.monotonic()
                back = await all_decode({"A": host, "B1": b}, rotated)
                await asyncio.sleep(2)
                await pc.close()

            assert press.ended is not None and press.ended.code == ErrorCode.OPENING_ENDED
            after_cut = [(t, f) for t, f in arrivals if t >= cut]
            readable = [
                sealed_at.get(f, cut)  # sealed before the hook, before the cut
                for _, f in after_cut
                if old_session.decrypt(host.user_id, Media.VIDEO, f) is not None
            ]
            last = max(readable, default=cut)
            print(
                f"\npress cut -> last frame the press could decrypt: sealed {(last - cut) * 1000:.0f} ms on"
            )
            print(f"press cut: A and B1 decode each other {back:.2f} s after the keys rotated")
            assert [t for t, _ in after_cut if t > rotated + 0.5] and all(t <= rotated for t in readable)
            # The removal's key change is an exchange: the host's advance up, the removal proposal down
            # and a commit up, the commit down and each member's readiness up, the execute down. Three
            # round trips on a WAN, on top of the server's wait for the last to be ready.
            exchange = 3 * wan_profile.rtt if wan_profile else 0.0
            assert last - cut < TRANSITION_TIMEOUT + 0.5 + exchange

            # The delegations' call went on: no gap over a second in B's picture of A across the cut
            # (on a WAN, none longer than a packet lost for good may cause, whether the cut or not).
            seen = b.feeds[host.user_id]
            times = [t for t in seen.video_times if cut - 2 <= t <= rotated + 2]
            gap, at = max((later - earlier, earlier - cut) for earlier, later in itertools.pairwise(times))
            assert gap < longest_freeze(wan_profile, 1.0), f"{gap:.2f} s from {at:+.2f} s, {seen.stats}"
            assert host.group_code() == b.group_code()
        finally:
            await press.close()

        with pytest.raises(JoinError) as again:  # the press link no longer admits
            await join(ParleyClient(links[2], ["Press pool"]), "Delegation B")
        assert again.value.code == "opening_ended"


async def test_a_two_minute_summit_warns_then_ends_on_time_and_refuses_joins(parley: ParleyServer) -> None:
    ends_at = datetime.now(UTC) + timedelta(seconds=5)
    link, late = summit_links(
        parley, [("Delegation A", Role.PRINCIPAL)] * 2, start=ends_at - timedelta(minutes=2), minutes=2
    )
    async with joined(link, "A") as a:
        await until(lambda: a.warnings == [2], 3, "the 2-minute warning")
        await until(lambda: a.ended is not None, 10, "the end")
        ended = datetime.now(UTC)
        assert a.ended is not None and a.ended.code == ErrorCode.SUMMIT_ENDED
        assert abs((ended - ends_at).total_seconds()) < 1.0, ended - ends_at
    with pytest.raises(JoinError) as refused:
        await join(ParleyClient(late, ["Latecomer"]), "Delegation A")
    assert refused.value.code == "summit_ended" and "ended" in str(refused.value)


async def test_an_allowed_overrun_runs_past_the_end_until_the_host_ends_it(
    parley: ParleyServer, wan_profile: Profile | None
) -> None:
    # Time for both devices to join and the host to allow the overrun before the end, on a WAN too.
    ends_at = datetime.now(UTC) + timedelta(seconds=3 + join_allowance(wan_profile))
    host_link, link = summit_links(
        parley,
        [("Delegation A", Role.HOST), ("Delegation B", Role.PRINCIPAL)],
        at_end=AtEnd.OVERRUN,
        start=ends_at - timedelta(minutes=2),
        minutes=2,
    )
    async with joined(host_link, "A") as host, joined(link, "B1") as b:
        await host.allow_overrun()
        await until(lambda: b.course.overrun, 5, "everyone to know")
        await asyncio.sleep((ends_at - datetime.now(UTC)).total_seconds() + 1)
        assert b.ended is None and host.ended is None  # past the end, still in session
        phases: tuple[PhaseName, ...] = ("lobby", "opening", "closed_session")
        for phase in phases:
            await host.advance(phase)
        with pytest.raises(Disconnected) as ended:  # the end of the summit ends the host's stay too
            await host.advance("ended")
        assert ended.value.ending is not None and ended.value.ending.code == ErrorCode.SUMMIT_ENDED
        await until(lambda: b.ended is not None and host.ended is not None, 5, "the end")


def abuse_links(parley: ParleyServer) -> list[str]:
    invites = [
        ("Delegation A", Role.HOST),
        ("Delegation B", Role.DELEGATE),
        ("Delegation B", Role.PRESS),
        ("Delegation B", Role.PRINCIPAL),
    ]
    return summit_links(parley, invites)


async def test_a_press_device_cannot_publish_or_subscribe_beyond_the_floor(parley: ParleyServer) -> None:
    host_link, _, press_link, _ = abuse_links(parley)
    async with joined(host_link, "A"), raw(press_link, "Press", "Delegation B") as (press, ready):
        assert ready["d"]["admitted"] is True and ready["d"]["device"]["role"] == "press"
        answer = await press.ask("publish", {"sdp": "v=0"})
        assert answer["d"]["code"] == "forbidden" and "never publish" in answer["d"]["message"]
        for feed in (ready["d"]["device"]["user_id"], 12345):  # itself (press), a device not in the summit
            assert (await press.ask("subscribe", {"feed": feed}))["d"]["code"] == "no_such_feed"


async def test_a_press_device_publishing_through_the_sdk_is_refused_with_its_code_within_a_second(
    parley: ParleyServer,
) -> None:
    host_link, _, press_link, _ = abuse_links(parley)
    async with joined(host_link, "A"), joined(press_link, "B1") as press:
        assert press.device.role is Role.PRESS and press.admitted.is_set()
        assert press.publisher is None  # it never publishes by itself
        started = time.monotonic()
        with pytest.raises(RequestRefused) as refused, from_office("Delegation B"):
            await press.publish()  # it has a camera and a microphone; the server refuses them
        elapsed = time.monotonic() - started
        assert refused.value.code == ErrorCode.FORBIDDEN and refused.value.op == "publish"
        assert "never publish" in str(refused.value)
        assert elapsed < 1.0, f"the refusal took {elapsed:.2f} s"
        assert press.publisher is None


async def test_a_delegate_cannot_use_host_controls(parley: ParleyServer) -> None:
    host_link, delegate_link, _, _ = abuse_links(parley)
    async with joined(host_link, "A") as host, joined(delegate_link, "B1") as delegate:
        await until(lambda: host.user_id in delegate.roster, 5, "the roster")
        for control in (
            partial(delegate.admit, host.user_id),
            partial(delegate.refuse, host.user_id),
            partial(delegate.remove, host.user_id),
            partial(delegate.lock, True),
            partial(delegate.advance, "lobby"),
            delegate.allow_overrun,
        ):
            with pytest.raises(RequestRefused) as refused:
                await control()
            assert refused.value.code in (ErrorCode.FORBIDDEN, ErrorCode.NOT_WAITING), refused.value
        assert host.course.phase is Phase.SCHEDULED and host.course.locked is False


async def test_a_phase_out_of_order_is_refused(parley: ParleyServer) -> None:
    host_link, *_ = abuse_links(parley)
    async with joined(host_link, "A") as host:
        started = time.monotonic()
        with pytest.raises(RequestRefused) as refused:
            await host.advance("opening")  # skipping the lobby
        assert refused.value.code == ErrorCode.PHASE_ORDER and refused.value.op == "advance"
        assert "next phase is lobby" in str(refused.value)
        assert time.monotonic() - started < 1.0  # the answer to this request, not a timeout
        assert host.course.phase is Phase.SCHEDULED


async def test_two_requests_at_once_each_get_their_own_answer_one_refused_one_done(
    parley: ParleyServer,
) -> None:
    host_link, *_ = abuse_links(parley)
    async with joined(host_link, "A") as host:
        skipped, locked = await asyncio.gather(
            host.advance("opening"), host.lock(True), return_exceptions=True
        )
        assert isinstance(skipped, RequestRefused) and skipped.code == ErrorCode.PHASE_ORDER
        assert locked is None  # done, despite the refusal that came just before its answer
        await until(lambda: host.course.locked, 5, "the course op that tells everyone")
        assert host.course.phase is Phase.SCHEDULED


async def test_a_locked_summit_refuses_joins(parley: ParleyServer) -> None:
    host_link, _, _, late_link = abuse_links(parley)
    async with joined(host_link, "A") as host:
        await host.lock(True)  # answered once the summit is locked
        await until(lambda: host.course.locked, 5, "the course op that tells everyone")
        with pytest.raises(JoinError) as locked:
            await join(ParleyClient(late_link, ["Latecomer"]), "Delegation B")
        assert locked.value.code == "summit_locked" and "locked" in str(locked.value)


async def test_the_host_removes_a_device_and_a_delegation_head_admits_its_own(parley: ParleyServer) -> None:
    host_link, head_link, own_link, other_link = summit_links(
        parley,
        [
            ("Delegation A", Role.HOST),
            ("Delegation B", Role.PRINCIPAL),
            ("Delegation B", Role.DELEGATE),
            ("Delegation A", Role.DELEGATE),
        ],
        admission=Admission.DELEGATION_HEAD,
    )
    async with joined(host_link, "A") as host:
        head = ParleyClient(head_link, ["Principal B"])
        own = ParleyClient(own_link, ["Delegate B"])
        other = ParleyClient(other_link, ["Delegate A"])
        for client, delegation in ((head, "Delegation B"), (own, "Delegation B"), (other, "Delegation A")):
            await join(client, delegation)
        try:
            await host.admit(head.user_id)
            await head.wait_admitted(10)
            # The head sees (and may admit) only its own delegation's waiting device.
            await until(lambda: [w.user_id for w in head.lobby] == [own.user_id], 5, "the head's lobby")
            with pytest.raises(RequestRefused) as refused:
                await head.admit(other.user_id)
            assert refused.value.code == ErrorCode.FORBIDDEN and not other.admitted.is_set()
            await head.admit(own.user_id)
            await own.wait_admitted(10)
            await until(
                lambda: own.group_code() is not None and own.group_code() == host.group_code(), 10, "keys"
            )

            epoch_code = host.group_code()
            await host.remove(own.user_id)
            await until(lambda: own.ended is not None, 5, "the removed device to be told")
            assert own.ended is not None and own.ended.code == ErrorCode.REMOVED
            await until(
                lambda: own.user_id not in host.roster and own.user_id not in head.roster, 5, "the roster"
            )
            await until(lambda: host.group_code() not in (None, epoch_code), 5, "the keys to rotate")
        finally:
            for client in (head, own, other):
                await client.close()


def _same_code(a: ParleyClient, b: ParleyClient) -> bool:
    return a.group_code() is not None and a.group_code() == b.group_code()

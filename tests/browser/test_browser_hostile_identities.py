"""A hostile server against a certified call of Chromium and SDK devices: issue 12's "must show"
1 (b)-(f), from the browser's side ((a) is in test_browser_identities.py).

The server is the real one in this process, patched as its operator could (tests/hostile.py,
tests/hostile_identity.py): its gateway proposes keys of its own under a member's user id, its
roster relabels a member, it splits the members into two groups. Every device, the browser and
each SDK device, must name the member within 2 s. Where certified members refuse to commit what
the server proposes ((b)-(d)), the bad epoch never exists: no device, browser or SDK, enters an
epoch holding the server's key. Where the epoch exists ((e), (f)), not one frame of the browser
reaches Janus in it (a keyless subscriber at Janus counts what it forwards).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from browsers import Browsers, state
from calls import janus_spy, publishing, until
from certified import CertifiedSummit, certified_summit, closing, enroll, officer_console
from certified_browsers import all_certified, enroll_in_browser
from hostile import room_of, swap_key
from hostile_identity import propose_impostor, relabel, split_next_commit
from playwright.async_api import Page

from parley.sdk.client import ParleyClient
from parley.sdk.identity import public_key
from parley.sdk.member import DaveMember
from parley.server.room import Room
from parley.server.runtime import ParleyServer

pytestmark = pytest.mark.anyio

ALARM_WITHIN = 2.0  # s: the bound, from the server's act to every device's alarm
POLL = 0.25  # s: one round of reading every device (the browser's state is a page evaluation)
ANSWERED = 1.5  # s: every member has answered a proposal (and committed it, had it done so)
WINDOW = 3.0  # s of watching Janus forward nothing: dozens of frames, were any sent


@dataclass
class Call:
    """Officers of A and B (SDK consoles), the browser (A), Boris (SDK, B) and Carl (SDK, A)."""

    summit: CertifiedSummit
    page: Page
    browser: int
    sdk: dict[str, ParleyClient]

    @property
    def room(self) -> Room:
        return room_of(self.summit.server, self.summit.summit.summit_id)

    def sdk_but(self, *names: str) -> list[ParleyClient]:
        return [c for name, c in self.sdk.items() if name not in names]


@pytest.fixture
async def call(parley: ParleyServer, browsers: Browsers, tmp_path: Path) -> AsyncIterator[Call]:
    async with closing(certified_summit(parley, tmp_path / "devices")) as summit:
        officer_a = await officer_console(summit, "Delegation A", "Officer A", None)
        officer_b = await officer_console(summit, "Delegation B", "Officer B", None)
        devices = {"Officer A": officer_a, "Officer B": officer_b}
        for name, delegation, officer in (
            ("Boris", "Delegation B", officer_b),
            ("Carl", "Delegation A", officer_a),
        ):
            devices[name] = summit.client(delegation, name, None)
            await devices[name].join()
            await enroll(officer, devices[name])
        # The browser last, with a small picture: the SDK devices decode it in this process.
        page = await browsers.page("hostile")
        base, fragment = summit.browser_link("Delegation A").split("#", 1)
        link = f"{base}?testSmallVideo=1#{fragment}"
        browser = await enroll_in_browser(page, link, ["Principal A"], officer_a)
        await until(lambda: all(_certified(c, 5) for c in devices.values()), 20, "SDK devices certified")
        await until(lambda: publishing(officer_a, browser), 20, "the browser's feed")
        call = Call(summit, page, browser, devices)
        try:
            await asyncio.wait_for(_all_certified_and_sending(call), 20)
        except TimeoutError:
            s = await state(page)
            raise AssertionError(f"the browser holds its media: {s['identity']}, {s['alarms']}") from None
        yield call


def _certified(client: ParleyClient, members: int) -> bool:
    return (
        client.certified is not None
        and client.certified.certification.summary() == f"all {members} members certified"
        and not client.holding
    )


async def _all_certified_and_sending(call: Call) -> None:
    while not (await all_certified(call.page, 5) and not (await state(call.page))["held"]):
        await asyncio.sleep(POLL)


@dataclass(frozen=True)
class Act:
    """What the hostile server did: whom each device must name (by its user id), with which words
    (an SDK device) or reasons (the browser); the devices it spares; the key it made, if any;
    when it acted (made right after the act), and how soon every device must say so."""

    named: Callable[[int], set[int]]
    words: str
    reasons: frozenset[str]
    spared: tuple[str, ...] = ()
    key: bytes | None = None
    bound: float = ALARM_WITHIN
    at: float = field(default_factory=time.monotonic)


KEY_REASONS = frozenset({"uncertified"})  # the epoch guard's: the key is not the certified one


async def swap_boris_key(call: Call) -> Act:
    """(b) Boris's certified user id, with a key the server made, in place of his leaf."""
    boris = call.sdk["Boris"].user_id
    impostor = swap_key(call.room, boris)
    # The gateway shows the swap to the members but Boris, whose leaf it removes.
    return Act(lambda _: {boris}, "another key", KEY_REASONS, ("Boris",), _key_of(impostor))


async def re_add_carl(call: Call) -> Act:
    """(c) Carl leaves; the server proposes him back under a key of its own."""
    carl = call.sdk.pop("Carl")
    await carl.leave()
    await until(lambda: not any(carl.user_id in _leaves(c) for c in call.sdk.values()), 10, "Carl out")
    impostor = propose_impostor(call.room, carl.user_id)
    return Act(lambda _: {carl.user_id}, "another key", KEY_REASONS, key=_key_of(impostor))


async def add_boris_twice(call: Call) -> Act:
    """(d) Boris's user id a second time, beside his own leaf."""
    boris = call.sdk["Boris"].user_id
    impostor = propose_impostor(call.room, boris)
    return Act(lambda _: {boris}, "another key", KEY_REASONS, key=_key_of(impostor))


async def relabel_carl(call: Call) -> Act:
    """(e) Carl, certified by A, shown in the roster as a device of B."""
    carl = call.sdk["Carl"].user_id
    b = next(d for d in call.summit.summit.delegations if d.name == "Delegation B")
    relabel(call.room, carl, b.delegation_id, b.name)
    return Act(lambda _: {carl}, "the roster shows another delegation", frozenset({"uncertified"}))


async def split_call(call: Call) -> Act:
    """(f) Carl leaves, and his removal's commit splits the call: Boris and Officer B in one
    group, the browser and Officer A in another, at one epoch number."""
    half = {call.sdk["Boris"].user_id, call.sdk["Officer B"].user_id}
    rest = {call.browser, call.sdk["Officer A"].user_id}
    split_next_commit(call.room, half)
    leaving = time.monotonic()
    await call.sdk.pop("Carl").leave()  # the removal's commit is the one the server splits

    def other_group(user_id: int) -> set[int]:
        return rest if user_id in half else half

    # From Carl's leaving: its removal's proposal and commit come first.
    reasons = frozenset({"attestation_mismatch", "attestation_silent"})
    return Act(other_group, "another group", reasons, bound=ALARM_WITHIN + 1.0, at=leaving)


@pytest.mark.parametrize(
    ("case", "hostile", "epoch_exists"),
    [
        ("b a certified user id with a key the server made", swap_boris_key, False),
        ("c a removed member re-added with a new key", re_add_carl, False),
        ("d a user id twice", add_boris_twice, False),
        ("e a member of A shown as one of B", relabel_carl, True),
        ("f the call split into two groups", split_call, True),
    ],
    ids=["b", "c", "d", "e", "f"],
)
async def test_every_browser_and_sdk_device_names_the_member_within_2_s_and_no_frame_goes_out_in_that_epoch(
    call: Call, case: str, hostile: Callable[[Call], Awaitable[Act]], epoch_exists: bool
) -> None:
    act = await hostile(call)
    sdk = call.sdk_but(*act.spared)
    late = await _who_has_not_alarmed(call, sdk, act, act.at + act.bound + POLL)
    assert late == [], f"{case}: no alarm within {act.bound} s from {late}"
    if epoch_exists:
        assert (await state(call.page))["held"]
        channel = call.summit.summit.channel_id
        async with janus_spy(call.summit.server, channel, call.browser) as spied:
            await asyncio.sleep(WINDOW)
            assert spied.forwarded == [], f"{case}: {len(spied.forwarded)} frames of the browser at Janus"
    else:
        await asyncio.sleep(ANSWERED)
        assert act.key is not None
        for client in sdk:
            assert act.key not in _leaves(client).values(), f"{case}: {client.people} took the server's key"
        # The browser is in the very epoch the SDK devices are in (one group code), or, where
        # davey refused the whole proposal (the swap's), in no group at all until a new welcome.
        sdk_codes = {c.group_code() for c in sdk}
        assert len(sdk_codes) == 1, f"{case}: the SDK devices are in different epochs: {sdk_codes}"
        browser = await state(call.page)
        assert browser["groupCode"] in sdk_codes | {None}, f"{case}: the browser is in another epoch"


async def _who_has_not_alarmed(call: Call, sdk: list[ParleyClient], act: Act, deadline: float) -> list[str]:
    """Read every device until all have named the member, or the deadline passes: who has not."""
    while True:
        late = [
            ", ".join(c.people)
            for c in sdk
            if not any(
                f"user {u}" in text and act.words in text for text in c.alarms for u in act.named(c.user_id)
            )
        ]
        alarms = (await state(call.page))["alarms"]
        named = {str(u) for u in act.named(call.browser)}
        if not any(a["reason"] in act.reasons and a["userId"] in named for a in alarms):
            late.append(f"the browser (alarms {alarms})")
        if not late or time.monotonic() > deadline:
            return late
        await asyncio.sleep(0.05)


def _leaves(client: ParleyClient) -> dict[int, bytes]:
    return client.member.roster if client.member is not None else {}


def _key_of(impostor: DaveMember) -> bytes:
    """The signature key the server's own member holds (what its key package carries)."""
    return public_key(impostor._key)

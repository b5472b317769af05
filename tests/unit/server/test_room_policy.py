"""The room's policy on its own: events in, effects out, with no Janus, no tasks and no clock.

Each test feeds the core what a device or the clock does and reads the effects it returns, in
order: what each device is sent, whom the DAVE group gains or loses, what Janus is told to
forward, what the summit's log keeps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parley.interpretation.booth import BoothError
from parley.protocol.codes import CloseCode
from parley.protocol.server_ops import (
    AdmittedOp,
    BoothsOp,
    ClockWarningOp,
    CourseOp,
    ErrorOp,
    KeyframeOp,
    LobbyJoinedOp,
    LobbyLeftOp,
    RosterOp,
)
from parley.server.attendee import Attendee
from parley.server.room_policy import (
    Close,
    DropMedia,
    Effect,
    Forward,
    JoinGroup,
    LeaveGroup,
    Log,
    MarkRemoved,
    RoomOp,
    RoomPolicy,
    Send,
    StopSending,
)
from parley.summit.course import Admission, AtEnd, Course, CourseError, Phase
from parley.summit.model import Delegation, Role, Summit

START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
NORTH = Delegation("d1", "s1", "North", "en")
SOUTH = Delegation("d2", "s1", "South", "ru")
HOST, NORTH_HEAD, NORTH_DELEGATE, SOUTH_DELEGATE, PRESS = 1, 2, 3, 4, 5
AUDIO = "v=0\r\na=group:BUNDLE 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n"


def make_policy(
    admission: Admission = Admission.HOST,
    at_end: AtEnd = AtEnd.HARD_STOP,
    phase: Phase = Phase.SCHEDULED,
    languages: tuple[str, ...] = (),
) -> RoomPolicy:
    summit = Summit("s1", "Talks", START, 60, 42, (NORTH, SOUTH), admission, languages=languages)
    course = Course.new(START, timedelta(minutes=60), admission, at_end)
    return RoomPolicy(summit, Course(course.starts_at, course.ends_at, admission, at_end, phase))


def attendee(
    user_id: int,
    role: Role = Role.DELEGATE,
    delegation: Delegation = NORTH,
    language: str | None = None,
    invitation: str | None = None,
) -> Attendee:
    return Attendee(
        user_id,
        delegation,
        role,
        (f"Person {user_id}",),
        key=bytes([user_id]) * 65,
        link=f"link-{user_id}",
        invitation_id=invitation or f"invitation-{user_id}",
        max_devices=1,
        language=language,
    )


def arrive(policy: RoomPolicy, device: Attendee) -> list[Effect]:
    """Enter and be placed, as the shell does once the media room is open."""
    policy.enter(device)
    return policy.place(device.user_id, START)


def sent(effects: list[Effect], kind: type[RoomOp]) -> list[tuple[int, RoomOp]]:
    """Who is sent which op of this kind, in order."""
    return [(e.to, e.op) for e in effects if isinstance(e, Send) and isinstance(e.op, kind)]


def told(effects: list[Effect], kind: type[RoomOp]) -> list[int]:
    return [to for to, _ in sent(effects, kind)]


def errors(effects: list[Effect]) -> list[tuple[int, str]]:
    return [(to, op.d.code) for to, op in sent(effects, ErrorOp) if isinstance(op, ErrorOp)]


def kinds(effects: list[Effect]) -> list[str]:
    """The effects without the sends, named, in order: the outline of what an event does."""
    return [type(e).__name__ for e in effects if not isinstance(e, Send)]


def logged(effects: list[Effect]) -> list[tuple[str, dict[str, object]]]:
    return [(e.kind, e.detail) for e in effects if isinstance(e, Log)]


# -- admission ---------------------------------------------------------------------------------


def test_the_host_goes_straight_in_and_a_delegate_waits_in_the_lobby_until_the_host_admits_it() -> None:
    policy = make_policy()
    host = attendee(HOST, Role.HOST)
    assert policy.enter(host) is True
    effects = policy.place(HOST, START)
    assert told(effects, AdmittedOp) == [HOST] and told(effects, RosterOp) == [HOST]
    assert effects[-1] == JoinGroup(HOST, host.key)  # DAVE starts for it once it is told

    delegate = attendee(NORTH_DELEGATE)
    assert policy.enter(delegate) is False
    waiting = policy.place(NORTH_DELEGATE, START)
    assert kinds(waiting) == []  # no keys, no media in the lobby
    ((to, joined),) = sent(waiting, LobbyJoinedOp)
    assert to == HOST and isinstance(joined, LobbyJoinedOp) and joined.d.device.user_id == NORTH_DELEGATE

    admitted = policy.admit(host, NORTH_DELEGATE)
    assert logged(admitted) == [("admitted", {"user_id": NORTH_DELEGATE, "by": HOST})]
    assert told(admitted, AdmittedOp) == [NORTH_DELEGATE]
    ((_, roster),) = sent(admitted, RosterOp)[:1]
    assert isinstance(roster, RosterOp) and [d.user_id for d in roster.d.devices] == [HOST, NORTH_DELEGATE]
    assert told(admitted, LobbyLeftOp) == [HOST]
    assert kinds(admitted) == ["Log", "JoinGroup"]
    assert list(policy.devices) == [HOST, NORTH_DELEGATE] and not policy.lobby


def test_a_delegation_head_admits_its_own_delegations_devices_and_no_others() -> None:
    policy = make_policy(Admission.DELEGATION_HEAD)
    arrive(policy, attendee(HOST, Role.HOST))
    head = attendee(NORTH_HEAD, Role.PRINCIPAL)
    assert policy.enter(head) is False  # a head waits for the host like anyone else
    policy.place(NORTH_HEAD, START)
    policy.admit(attendee(HOST, Role.HOST), NORTH_HEAD)

    ours = arrive(policy, attendee(NORTH_DELEGATE))
    theirs = arrive(policy, attendee(SOUTH_DELEGATE, delegation=SOUTH))
    assert told(ours, LobbyJoinedOp) == [HOST, NORTH_HEAD]  # the head hears of its own only
    assert told(theirs, LobbyJoinedOp) == [HOST]

    with pytest.raises(CourseError) as refused:
        policy.admit(head, SOUTH_DELEGATE)
    assert refused.value.code == "forbidden" and SOUTH_DELEGATE in policy.lobby

    admitted = policy.admit(head, NORTH_DELEGATE)
    assert logged(admitted) == [("admitted", {"user_id": NORTH_DELEGATE, "by": NORTH_HEAD})]
    assert told(admitted, AdmittedOp) == [NORTH_DELEGATE] and NORTH_DELEGATE in policy.devices


def test_a_delegation_head_cannot_admit_a_device_of_a_link_the_host_removed_a_device_of() -> None:
    policy = make_policy(Admission.DELEGATION_HEAD)
    host, head = attendee(HOST, Role.HOST), attendee(NORTH_HEAD, Role.PRINCIPAL)
    arrive(policy, host)
    arrive(policy, head)
    policy.admit(host, NORTH_HEAD)
    arrive(policy, attendee(NORTH_DELEGATE))
    policy.admit(head, NORTH_DELEGATE)

    removal = policy.remove(host, NORTH_DELEGATE)
    assert removal[:2] == [
        MarkRemoved("invitation-3", True),
        Log(
            policy.course, "removed", {"user_id": NORTH_DELEGATE, "by": HOST, "invitation_id": "invitation-3"}
        ),
    ]
    assert errors(removal) == [(NORTH_DELEGATE, "removed")]
    assert Close(NORTH_DELEGATE, CloseCode.REMOVED, "removed") in removal
    assert kinds(removal)[2:] == ["Close", "LeaveGroup", "StopSending", "DropMedia"]

    back = attendee(6, invitation="invitation-3")  # the same link, another device
    assert policy.enter(back) is False  # waits, flagged, even though its head could admit it
    arriving = policy.place(6, START)
    assert told(arriving, LobbyJoinedOp) == [HOST]  # only the host hears of it
    ((_, shown),) = sent(arriving, LobbyJoinedOp)
    assert isinstance(shown, LobbyJoinedOp) and shown.d.device.removed_earlier is True
    with pytest.raises(CourseError) as refused:
        policy.admit(head, 6)
    assert refused.value.code == "forbidden"

    lifted = policy.admit(host, 6)  # the host's admission lifts the removal
    assert lifted[0] == MarkRemoved("invitation-3", False)
    assert logged(lifted)[0][1]["removal_lifted"] == "invitation-3"


def test_a_device_in_the_lobby_cannot_admit_and_a_delegate_cannot_remove() -> None:
    policy = make_policy()
    arrive(policy, attendee(HOST, Role.HOST))
    arrive(policy, attendee(NORTH_DELEGATE))
    arrive(policy, attendee(SOUTH_DELEGATE, delegation=SOUTH))
    with pytest.raises(CourseError) as waiting:
        policy.admit(attendee(NORTH_DELEGATE), SOUTH_DELEGATE)
    assert waiting.value.code == "not_admitted"
    with pytest.raises(CourseError) as forbidden:
        policy.remove(attendee(NORTH_DELEGATE), SOUTH_DELEGATE)
    assert forbidden.value.code == "forbidden"


def test_the_host_refusing_a_waiting_device_ends_its_stay_and_tells_the_host() -> None:
    policy = make_policy()
    host = attendee(HOST, Role.HOST)
    arrive(policy, host)
    arrive(policy, attendee(NORTH_DELEGATE))
    refused = policy.refuse(host, NORTH_DELEGATE)
    assert logged(refused) == [("refused", {"user_id": NORTH_DELEGATE, "by": HOST})]
    assert errors(refused) == [(NORTH_DELEGATE, "admission_refused")]
    assert kinds(refused) == ["Log", "Close", "StopSending"]  # it never had keys or media
    assert told(refused, LobbyLeftOp) == [HOST] and policy.empty is False and not policy.lobby


def test_a_subscription_that_comes_up_asks_its_publisher_for_a_keyframe_while_both_are_here() -> None:
    policy = make_policy(Admission.OPEN)
    arrive(policy, attendee(HOST, Role.HOST))
    arrive(policy, attendee(SOUTH_DELEGATE, delegation=SOUTH))
    ((to, op),) = sent(policy.subscribed(SOUTH_DELEGATE, HOST), KeyframeOp)
    assert to == HOST and isinstance(op, KeyframeOp) and op.d.subscriber == SOUTH_DELEGATE
    assert policy.subscribed(SOUTH_DELEGATE, PRESS) == []  # a feed that is not (or no longer) here
    policy.depart(SOUTH_DELEGATE)
    assert policy.subscribed(SOUTH_DELEGATE, HOST) == []  # the subscriber left while it came up


# -- the press cut -------------------------------------------------------------------------------


def test_the_press_is_dismissed_when_the_opening_ends_and_refused_afterwards() -> None:
    policy = make_policy(Admission.OPEN, phase=Phase.OPENING)
    host = attendee(HOST, Role.HOST)
    arrive(policy, host)
    arrive(policy, attendee(NORTH_DELEGATE))
    arrive(policy, attendee(PRESS, Role.PRESS))
    now = START + timedelta(minutes=5)

    cut = policy.advance(host, Phase.CLOSED_SESSION, now)
    assert logged(cut) == [("phase", {"phase": "closed_session", "by": HOST})]
    assert told(cut, CourseOp)[:3] == [HOST, NORTH_DELEGATE, PRESS]  # everyone hears the phase first
    assert errors(cut) == [(PRESS, "opening_ended")]
    assert Close(PRESS, CloseCode.OPENING_ENDED, "opening_ended") in cut
    # Out of the DAVE group (the keys rotate for the others) and out of Janus.
    assert [e for e in cut if isinstance(e, LeaveGroup | DropMedia | StopSending)] == [
        LeaveGroup(PRESS),
        StopSending(PRESS),
        DropMedia(PRESS),
    ]
    roster = [op for _, op in sent(cut, RosterOp) if isinstance(op, RosterOp)]
    assert all(PRESS not in [d.user_id for d in r.d.devices] for r in roster)
    assert told(cut, RosterOp) == [HOST, NORTH_DELEGATE]
    assert list(policy.devices) == [HOST, NORTH_DELEGATE]

    with pytest.raises(CourseError) as refused:
        policy.enter(attendee(6, Role.PRESS))
    assert refused.value.code == "opening_ended" and not policy.entering


def test_the_press_is_admitted_during_the_opening() -> None:
    policy = make_policy(Admission.OPEN, phase=Phase.OPENING)
    effects = arrive(policy, attendee(PRESS, Role.PRESS))
    assert told(effects, AdmittedOp) == [PRESS] and PRESS in policy.devices


def test_a_press_device_still_entering_when_the_opening_ends_is_refused_at_its_place() -> None:
    policy = make_policy(Admission.OPEN, phase=Phase.OPENING)
    host = attendee(HOST, Role.HOST)
    arrive(policy, host)
    assert policy.enter(attendee(PRESS, Role.PRESS)) is True  # the shell opens the media room...
    policy.advance(host, Phase.CLOSED_SESSION, START)  # ...while the opening ends
    with pytest.raises(CourseError) as refused:
        policy.place(PRESS, START)
    assert refused.value.code == "opening_ended" and PRESS not in policy.devices and not policy.entering


# -- a booth's handover --------------------------------------------------------------------------


def interpreters(policy: RoomPolicy, *user_ids: int) -> list[Attendee]:
    """Interpreters of the Russian booth, in the call with their microphones up at Janus."""
    booth = [attendee(u, Role.INTERPRETER, SOUTH, language="ru") for u in user_ids]
    for device in booth:
        arrive(policy, device)
        relay = policy.publish(device, AUDIO, "ru")
        assert relay.forward is False  # muted at Janus until it takes over
        policy.published(device.user_id)
    return booth


def test_at_a_handover_janus_mutes_the_outgoing_voice_before_it_lets_the_incoming_one_through() -> None:
    policy = make_policy(Admission.OPEN, languages=("ru",))
    first, second = interpreters(policy, 7, 8)

    live = policy.take_over(first)
    assert [e for e in live if isinstance(e, Forward)] == [Forward("ru", 7, True)]
    assert logged(live) == [("booth_live", {"language": "ru", "user_id": 7})]
    assert told(live, BoothsOp) == [7, 8]

    handing = policy.hand_over(first)
    assert [e for e in handing if isinstance(e, Forward)] == []  # it talks on until relieved

    relieved = policy.take_over(second)
    assert [e for e in relieved if isinstance(e, Forward)] == [
        Forward("ru", 7, False),
        Forward("ru", 8, True),
    ]
    assert logged(relieved) == [("booth_live", {"language": "ru", "user_id": 8})]
    ((_, booths), *_) = sent(relieved, BoothsOp)
    assert isinstance(booths, BoothsOp) and booths.d.booths[0].live == 8


def test_a_mate_cannot_take_over_while_someone_is_live_and_janus_is_left_alone() -> None:
    policy = make_policy(Admission.OPEN, languages=("ru",))
    first, second = interpreters(policy, 7, 8)
    policy.take_over(first)
    with pytest.raises(BoothError) as refused:
        policy.take_over(second)
    assert refused.value.code == "booth_busy" and policy.forwarded == {"ru": 7}


def test_a_mute_janus_did_not_confirm_is_tried_again_before_any_other_voice() -> None:
    policy = make_policy(Admission.OPEN, languages=("ru",))
    first, second = interpreters(policy, 7, 8)
    policy.take_over(first)
    policy.forward_failed(Forward("ru", 7, False))  # as if the cough's mute had failed at Janus
    policy.hand_over(first)
    relieved = policy.take_over(second)
    assert [e for e in relieved if isinstance(e, Forward)] == [
        Forward("ru", 7, False),
        Forward("ru", 8, True),
    ]


def test_the_live_interpreter_leaving_is_muted_after_its_media_is_dropped() -> None:
    policy = make_policy(Admission.OPEN, languages=("ru",))
    first, _ = interpreters(policy, 7, 8)
    policy.take_over(first)
    gone = policy.depart(7)
    assert kinds(gone) == ["LeaveGroup", "StopSending", "DropMedia", "Forward"]
    assert gone[-1] == Forward("ru", 7, False) and policy.booths["ru"].live is None


# -- the clock -----------------------------------------------------------------------------------


def test_the_clock_warns_at_10_and_2_minutes_then_ends_a_hard_stop_summit() -> None:
    policy = make_policy(Admission.HOST)
    arrive(policy, attendee(HOST, Role.HOST))
    arrive(policy, attendee(NORTH_DELEGATE))  # waiting in the lobby: told all the same
    ends_at = START + timedelta(minutes=60)

    assert policy.clock_deadline() == ends_at - timedelta(minutes=10)
    assert policy.tick(ends_at - timedelta(minutes=11)) == []
    ten = policy.tick(ends_at - timedelta(minutes=10))
    assert [
        (to, op.d.minutes_left) for to, op in sent(ten, ClockWarningOp) if isinstance(op, ClockWarningOp)
    ] == [
        (HOST, 10),
        (NORTH_DELEGATE, 10),
    ]
    assert kinds(ten) == []  # a warning is no record

    assert policy.clock_deadline() == ends_at - timedelta(minutes=2)
    two = policy.tick(ends_at - timedelta(minutes=2))
    assert [op.d.minutes_left for _, op in sent(two, ClockWarningOp) if isinstance(op, ClockWarningOp)] == [
        2,
        2,
    ]

    late = arrive(policy, attendee(SOUTH_DELEGATE, delegation=SOUTH))  # a late arrival learns it too
    assert [
        (to, op.d.minutes_left) for to, op in sent(late, ClockWarningOp) if isinstance(op, ClockWarningOp)
    ] == [(SOUTH_DELEGATE, 2)]

    assert policy.clock_deadline() == ends_at
    end = policy.tick(ends_at)
    assert logged(end) == [("phase", {"phase": "ended", "by": "clock"})]
    assert sorted(to for to, _ in errors(end)) == [HOST, NORTH_DELEGATE, SOUTH_DELEGATE]
    assert {code for _, code in errors(end)} == {"summit_ended"}
    assert Close(HOST, CloseCode.SUMMIT_ENDED, "summit_ended") in end
    assert policy.course.phase is Phase.ENDED and policy.empty and policy.clock_deadline() is None
    with pytest.raises(CourseError) as refused:
        policy.enter(attendee(HOST, Role.HOST))
    assert refused.value.code == "summit_ended"


def test_a_summit_set_to_overrun_runs_on_once_the_host_allows_it_until_the_host_ends_it() -> None:
    policy = make_policy(Admission.OPEN, AtEnd.OVERRUN, phase=Phase.CLOSED_SESSION)
    host = attendee(HOST, Role.HOST)
    arrive(policy, host)
    ends_at = START + timedelta(minutes=60)
    policy.tick(ends_at - timedelta(minutes=2))  # both warnings, the nearest told

    allowed = policy.allow_overrun(host, ends_at - timedelta(minutes=1))
    assert logged(allowed) == [("overrun_allowed", {"by": HOST})]
    ((_, course),) = sent(allowed, CourseOp)
    assert isinstance(course, CourseOp) and course.d.overrun is True
    assert policy.clock_deadline() is None  # nothing left for the clock to do
    assert policy.tick(ends_at + timedelta(minutes=30)) == [] and HOST in policy.devices

    ended = policy.advance(host, Phase.ENDED, ends_at + timedelta(minutes=31))
    assert errors(ended) == [(HOST, "summit_ended")] and policy.empty


def test_a_summit_set_to_overrun_still_stops_at_its_end_when_the_host_has_not_allowed_it() -> None:
    policy = make_policy(Admission.OPEN, AtEnd.OVERRUN)
    arrive(policy, attendee(HOST, Role.HOST))
    end = policy.tick(START + timedelta(minutes=60))
    assert logged(end) == [("phase", {"phase": "ended", "by": "clock"})]
    assert errors(end) == [(HOST, "summit_ended")]


def test_a_hard_stop_summit_cannot_be_let_run_over() -> None:
    policy = make_policy(Admission.OPEN)
    host = attendee(HOST, Role.HOST)
    arrive(policy, host)
    with pytest.raises(CourseError) as refused:
        policy.allow_overrun(host, START)
    assert refused.value.code == "no_overrun"
    assert policy.clock_deadline() == START + timedelta(minutes=50)

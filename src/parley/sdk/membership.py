"""Who is in the call, as this device can prove it: from the key group itself, not the server's word.

The server tells every device who is present (the `roster` op), and it is also DAVE's external
sender: it decides whose key packages the members add. A hostile server could add a member to the
key group (the MLS tree) and leave it out of the roster, or swap a member's key for its own. So a
device derives the call from its own MLS tree and holds the roster against it:

- a member of the key group that the roster does not explain is a **hidden member**: alarm, and
  this device sends nothing while it stays in the group (its keys would open our frames);
- a user id whose signature key changes while this device watches (or differs from the key the
  roster says it identified with) is a **key swap**: alarm, and nothing is sent either;
- a roster entry that never reaches the key group is **shown but not in the group**: alarm (a
  device the others believe they talk to that cannot hear them, or a server that shows a name for
  someone else's leaf).

Departures are the one honest gap: the server drops a leaving device from the roster first, and
the members commit its removal moments later. A user id that left the roster less than
`LEAVING_GRACE` ago is "leaving", not hidden.

Sans-IO: feed it the roster and the key group as they change, with `now`; call `tick` at
`deadline()`. It returns the new alarms; `hold` says whether media must stop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from parley.protocol.codes import AlarmKind, MembershipStatus

# The roster drops a leaving device before the members commit its removal (a proposal, a commit
# and a transition: well under a second normally, bounded by the gateway's 2 s transition timeout
# plus a commit race or two). Past this, a member the roster no longer shows is hidden.
LEAVING_GRACE = 15.0  # s
# An admitted device sends its key package at once and is added within a transition; a roster
# entry still missing from the key group after this is not a member, whatever the roster says.
JOINING_BOUND = 20.0  # s


@dataclass(frozen=True)
class Alarm:
    kind: AlarmKind
    user_id: int
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Member:
    """One device as this device sees it: its key from the key group, its entry from the roster."""

    user_id: int
    status: MembershipStatus
    key: bytes | None  # from the key group (None: not in it)
    announced_key: bytes | None  # from the roster (None: not in it)


_HOLDING = frozenset({MembershipStatus.HIDDEN, MembershipStatus.KEY_CHANGED})


class CallMembership:
    def __init__(self, self_id: int) -> None:
        self.self_id = self_id
        self._roster: dict[int, bytes] = {}  # user id -> the key it identified with
        self._group: dict[int, bytes] = {}  # user id -> its leaf's signature key
        self._first_keys: dict[int, bytes] = {}  # every key this device saw for each user id
        self._joined_roster: dict[int, float] = {}  # when each roster entry appeared
        self._left_roster: dict[int, float] = {}  # when each user id left the roster
        self._raised: set[tuple[AlarmKind, int]] = set()
        self.alarms: list[Alarm] = []

    # -- inputs --------------------------------------------------------------------------------

    def roster(self, announced: Mapping[int, bytes], now: float) -> list[Alarm]:
        """The server's roster: user id -> the key that device identified with."""
        announced = {u: k for u, k in announced.items() if u != self.self_id}
        for user_id in self._roster.keys() - announced.keys():
            self._left_roster[user_id] = now
            self._joined_roster.pop(user_id, None)
        for user_id in announced.keys() - self._roster.keys():
            self._joined_roster[user_id] = now
            self._left_roster.pop(user_id, None)
        self._roster = dict(announced)
        return self._check(now)

    def key_group(self, leaves: Mapping[int, bytes], now: float) -> list[Alarm]:
        """The MLS tree after a commit or welcome: user id -> its leaf's signature key."""
        self._group = {u: k for u, k in leaves.items() if u != self.self_id}
        for user_id, key in self._group.items():
            self._first_keys.setdefault(user_id, key)
        return self._check(now)

    def tick(self, now: float) -> list[Alarm]:
        return self._check(now)

    def deadline(self, now: float) -> float | None:
        """When a status next changes by time alone (a grace or a bound running out), if ever."""
        times = [t + LEAVING_GRACE for u, t in self._left_roster.items() if u in self._group]
        times += [t + JOINING_BOUND for u, t in self._joined_roster.items() if u not in self._group]
        return min((t for t in times if t > now), default=None)

    # -- what it shows -------------------------------------------------------------------------

    def status(self, user_id: int, now: float) -> MembershipStatus | None:
        in_group, announced = user_id in self._group, self._roster.get(user_id)
        if in_group:
            key = self._group[user_id]
            if key != self._first_keys[user_id] or (announced is not None and key != announced):
                return MembershipStatus.KEY_CHANGED
            if announced is not None:
                return MembershipStatus.IN_CALL
            left = self._left_roster.get(user_id)
            return (
                MembershipStatus.LEAVING
                if left is not None and now - left < LEAVING_GRACE
                else MembershipStatus.HIDDEN
            )
        if announced is not None:
            joined = self._joined_roster.get(user_id, now)
            return MembershipStatus.JOINING if now - joined < JOINING_BOUND else MembershipStatus.NOT_IN_GROUP
        return None

    def members(self, now: float) -> list[Member]:
        """Everyone in the key group or the roster (this device left out), key group first."""
        ids = [*sorted(self._group), *sorted(self._roster.keys() - self._group.keys())]
        return [
            Member(u, status, self._group.get(u), self._roster.get(u))
            for u in ids
            if (status := self.status(u, now)) is not None
        ]

    def hold(self, now: float) -> bool:
        """Whether this device must send nothing: someone in the key group is not accounted for."""
        return any(self.status(u, now) in _HOLDING for u in self._group)

    # -- alarms --------------------------------------------------------------------------------

    def _check(self, now: float) -> list[Alarm]:
        standing = [a for m in self.members(now) if (a := _alarm_for(m)) is not None]
        # Each alarm once while its condition lasts; again if it comes back after clearing.
        new = [a for a in standing if (a.kind, a.user_id) not in self._raised]
        self._raised = {(a.kind, a.user_id) for a in standing}
        self.alarms += new
        return new


def _alarm_for(member: Member) -> Alarm | None:
    u = member.user_id
    if member.status is MembershipStatus.HIDDEN:
        return Alarm(
            AlarmKind.HIDDEN_MEMBER,
            u,
            f"user {u} is in the key group but not in the call's roster: it can decrypt the call;"
            " this device sends nothing while it stays",
        )
    if member.status is MembershipStatus.KEY_CHANGED:
        return Alarm(
            AlarmKind.KEY_CHANGED,
            u,
            f"user {u}'s signature key changed in the key group (or is not the key it identified"
            " with): another key stands in its place; this device sends nothing while it stays",
        )
    if member.status is MembershipStatus.NOT_IN_GROUP:
        return Alarm(
            AlarmKind.NOT_IN_GROUP,
            u,
            f"user {u} is shown in the call but has not joined the key group within {JOINING_BOUND:.0f} s",
        )
    return None

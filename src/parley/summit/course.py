"""A summit's course: its phases, its lock and its clock. Sans-IO: `now` is passed in.

    scheduled --> lobby --> opening --> closed_session --> ended

The host moves the summit one phase at a time (the table below is the only place transitions
live); the clock can also end it. The press sees the opening only: it is admitted during the
lobby and the opening, and cut off when the opening ends.

The clock is the server's: the summit ends at `ends_at` (scheduled start + duration). Devices are
warned at 10 and 2 minutes before. At the end, `at_end` decides: a hard stop ends the summit; with
"overrun" the summit runs on once the host allows it, until the host ends it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from parley.protocol.codes import ErrorCode
from parley.protocol.errors import PolicyError
from parley.protocol.vocabulary import Admission as Admission
from parley.protocol.vocabulary import AtEnd as AtEnd
from parley.protocol.vocabulary import Phase as Phase

WARNINGS = (10, 2)  # minutes before the end


NEXT: dict[Phase, Phase] = {
    Phase.SCHEDULED: Phase.LOBBY,
    Phase.LOBBY: Phase.OPENING,
    Phase.OPENING: Phase.CLOSED_SESSION,
    Phase.CLOSED_SESSION: Phase.ENDED,
}

PRESS_PHASES = frozenset({Phase.SCHEDULED, Phase.LOBBY, Phase.OPENING})


class CourseError(PolicyError):
    """A change the course does not allow, or a device it does not let in; `code` goes into the
    device's error op."""


@dataclass(frozen=True)
class Course:
    starts_at: datetime
    ends_at: datetime
    admission: Admission = Admission.HOST
    at_end: AtEnd = AtEnd.HARD_STOP
    phase: Phase = Phase.SCHEDULED
    locked: bool = False
    overrun: bool = False
    warned: tuple[int, ...] = field(default=())

    @classmethod
    def new(cls, starts_at: datetime, duration: timedelta, admission: Admission, at_end: AtEnd) -> Course:
        return cls(starts_at, starts_at + duration, admission, at_end)

    def advance(self, to: Phase) -> Course:
        """The next phase, and only that; an ended summit stays ended."""
        if NEXT.get(self.phase) is not to:
            allowed = NEXT.get(self.phase)
            hint = f"the next phase is {allowed.value}" if allowed else "the summit has ended"
            raise CourseError(
                ErrorCode.PHASE_ORDER, f"cannot go from {self.phase.value} to {to.value}: {hint}"
            )
        return replace(self, phase=to)

    def lock(self, locked: bool) -> Course:
        if self.phase is Phase.ENDED:
            raise CourseError(ErrorCode.SUMMIT_ENDED, "the summit has ended")
        return replace(self, locked=locked)

    def allow_overrun(self) -> Course:
        if self.at_end is not AtEnd.OVERRUN:
            raise CourseError(ErrorCode.NO_OVERRUN, "this summit was set to stop at its scheduled end")
        if self.phase is Phase.ENDED:
            raise CourseError(ErrorCode.SUMMIT_ENDED, "the summit has ended")
        return replace(self, overrun=True)

    def press_allowed(self) -> bool:
        return self.phase in PRESS_PHASES

    # -- the clock -------------------------------------------------------------------------------

    def due_warnings(self, now: datetime) -> tuple[Course, list[int]]:
        """Warnings whose time has come and that were not given yet (at most once each)."""
        if self.phase is Phase.ENDED:
            return self, []
        due = [m for m in WARNINGS if m not in self.warned and now >= self.ends_at - timedelta(minutes=m)]
        # When several are due at once (a late join, a short summit) only the nearest matters.
        return (replace(self, warned=self.warned + tuple(due)), due[-1:]) if due else (self, [])

    def ends_now(self, now: datetime) -> bool:
        """The clock ends the summit: a hard stop at `ends_at` (overrun runs until the host ends it)."""
        return self.phase is not Phase.ENDED and now >= self.ends_at and not self.overrun

    def next_deadline(self) -> datetime | None:
        """When the clock next has something to do (a warning or the end)."""
        if self.phase is Phase.ENDED:
            return None
        moments = [self.ends_at - timedelta(minutes=m) for m in WARNINGS if m not in self.warned]
        if not self.overrun:
            moments.append(self.ends_at)
        return min(moments) if moments else None

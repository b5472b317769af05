"""A language's booth: its interpreters, who is live, and the handover between them (sans-IO).

Simultaneous interpretation is hard work done in turns of about half an hour: two or more
interpreters share a booth, and exactly one of them speaks into the channel at a time. The turn
passes by an explicit handover: the live interpreter hands over (and keeps talking), a booth mate
takes over when ready, and only then does the outgoing one fall silent. So the channel never
carries two voices, and never a silence the handover itself caused.

States (a `Booth` is immutable; every change returns a new one or raises `BoothError`):

    IDLE ──take_over(a)──▶ LIVE(a) ──hand_over(a)──▶ HANDING_OVER(a) ──take_over(b)──▶ LIVE(b)
      ▲                      │                          │
      └──── leave(a) ────────┴──────── leave(a) ────────┘

`take_over` by anyone else while LIVE is refused (`booth_busy`). The cough key mutes an
interpreter without ending its turn. The server forwards exactly `forwarding()` (the live
interpreter, unless it coughs) and mutes every other interpreter feed at Janus.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from parley.protocol.codes import ErrorCode
from parley.protocol.errors import PolicyError
from parley.protocol.server_ops import BoothInfo


class BoothError(PolicyError):
    """A booth change that is not allowed now; `code` goes into the device's error op."""


class BoothState(enum.Enum):
    IDLE = "idle"
    LIVE = "live"
    HANDING_OVER = "handing_over"


@dataclass(frozen=True)
class Booth:
    language: str
    interpreters: tuple[int, ...] = ()  # user ids, in order of arrival
    live: int | None = None
    handing_over: bool = False
    coughing: frozenset[int] = frozenset()

    @property
    def state(self) -> BoothState:
        if self.live is None:
            return BoothState.IDLE
        return BoothState.HANDING_OVER if self.handing_over else BoothState.LIVE

    def forwarding(self) -> int | None:
        """The one interpreter whose voice the channel carries now, if any."""
        return self.live if self.live is not None and self.live not in self.coughing else None

    def join(self, user_id: int) -> Booth:
        if user_id in self.interpreters:
            return self
        return replace(self, interpreters=(*self.interpreters, user_id))

    def leave(self, user_id: int) -> Booth:
        """An interpreter gone (left, disconnected, removed): its turn, if it had one, ends."""
        left = replace(
            self,
            interpreters=tuple(u for u in self.interpreters if u != user_id),
            coughing=self.coughing - {user_id},
        )
        if self.live == user_id:
            return replace(left, live=None, handing_over=False)
        return left

    def take_over(self, user_id: int, publishing: bool) -> Booth:
        """`publishing`: the interpreter's audio is up at Janus, so its voice can follow at once."""
        self._member(user_id)
        if self.live == user_id:
            raise BoothError(ErrorCode.ALREADY_LIVE, "you are already live in this booth")
        if not publishing:
            raise BoothError(
                ErrorCode.NOT_PUBLISHING, "your microphone is not connected yet; take over once it is"
            )
        if self.state is BoothState.LIVE:
            raise BoothError(
                ErrorCode.BOOTH_BUSY, "a booth mate is live: take over once they hand over (never two voices)"
            )
        return replace(self, live=user_id, handing_over=False)

    def hand_over(self, user_id: int) -> Booth:
        self._member(user_id)
        if self.live != user_id:
            raise BoothError(ErrorCode.NOT_LIVE, "only the live interpreter hands over")
        return replace(self, handing_over=True)

    def cough(self, user_id: int, muted: bool) -> Booth:
        self._member(user_id)
        coughing = self.coughing | {user_id} if muted else self.coughing - {user_id}
        return replace(self, coughing=coughing)

    def info(self) -> BoothInfo:
        """The booth as the `booths` op shows it (docs/protocol.md)."""
        return BoothInfo(
            language=self.language,
            interpreters=list(self.interpreters),
            live=self.live,
            handing_over=self.handing_over,
            muted=self.live is not None and self.live in self.coughing,
        )

    def _member(self, user_id: int) -> None:
        if user_id not in self.interpreters:
            raise BoothError(
                ErrorCode.FORBIDDEN, f"only an interpreter of the {self.language} booth does that"
            )

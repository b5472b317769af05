"""The impairer's decisions, without I/O: for each packet on a `Path`, drop it or say when it is due.

The clock and the randomness come from the caller, so tests replay a path packet by packet and the
shell (impairer.py) is left with sockets and timers.
"""

from __future__ import annotations

import random

from wan.profiles import Path


class Impairment:
    """One direction's state: the Gilbert-Elliott chain and the latest due time handed out."""

    def __init__(self, path: Path, rng: random.Random) -> None:
        self._path = path
        self._rng = rng
        self._bad = False
        self._last_due = float("-inf")

    def admit(self, now: float) -> float | None:
        """When the packet that arrived at `now` should go on, or None to drop it.

        Due times never decrease: jitter stretches the gaps between packets but never reorders a
        direction, so holding packets in due order is holding them in arrival order.
        """
        if self._lost():
            return None
        path = self._path
        due = max(now + path.delay + self._rng.uniform(-path.jitter, path.jitter), self._last_due)
        self._last_due = due
        return due

    def _lost(self) -> bool:
        burst = self._path.burst
        if burst is not None:
            self._bad = self._rng.random() < (1 - burst.leave if self._bad else burst.enter)
            if self._bad:
                return True
        return self._rng.random() < self._path.loss

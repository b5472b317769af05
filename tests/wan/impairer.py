"""The NFQUEUE impairer: delays and drops the packets a router namespace forwards.

topology.py starts one per delegation inside its router namespace, where iptables sends what the
devices send towards the server to queue `UP_QUEUE`, and what comes back to `DOWN_QUEUE`:

    python -m wan.impairer PROFILE_JSON SEED

Each packet gets its verdict from `Impairment` at once (drop) or is held in one heap, ordered by due
time, across both directions; a single loop waits on the queues' sockets with the earliest due time
as its timeout, so holding packets never stops the queue from being read. It prints `ready` once
both queues are bound, and on SIGTERM lets every held packet go and prints its own overhead (how
late packets left after their due time) as one JSON line.
"""

from __future__ import annotations

import heapq
import json
import random
import selectors
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from netfilterqueue import COPY_META, NetfilterQueue, Packet
from wan.impairment import Impairment
from wan.profiles import Profile

UP_QUEUE = 1
DOWN_QUEUE = 2
# Room for 600 ms of a few video streams held at once; beyond it the kernel drops (as a router would).
QUEUE_LENGTH = 8192
LATENESS_SAMPLES = 200_000  # enough for a long test; past it, overhead is measured on the first ones


@dataclass(order=True)
class Held:
    due: float
    order: int
    packet: Packet = field(compare=False)


@dataclass
class Overhead:
    """Counts, and how late after their due time the held packets were let go (seconds)."""

    received: int = 0
    dropped: int = 0
    most_held: int = 0
    lateness: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        late = sorted(self.lateness) or [0.0]
        return {
            "received": self.received,
            "dropped": self.dropped,
            "most_held": self.most_held,
            "late_p50_ms": 1000 * late[len(late) // 2],
            "late_p99_ms": 1000 * late[len(late) * 99 // 100],
            "late_max_ms": 1000 * late[-1],
        }


class Scheduler:
    """Held packets in due order, across both directions."""

    def __init__(self, overhead: Overhead) -> None:
        self._held: list[Held] = []
        self._order = 0
        self._overhead = overhead

    def on_packet(self, impairment: Impairment) -> Callable[[Packet], None]:
        def callback(packet: Packet) -> None:
            self._overhead.received += 1
            due = impairment.admit(time.monotonic())
            if due is None:
                self._overhead.dropped += 1
                packet.drop()
                return
            self._order += 1
            heapq.heappush(self._held, Held(due, self._order, packet))
            self._overhead.most_held = max(self._overhead.most_held, len(self._held))

        return callback

    def wait(self) -> float | None:
        """How long until the next packet is due (None: nothing held)."""
        return max(0.0, self._held[0].due - time.monotonic()) if self._held else None

    def release(self, now: float) -> None:
        while self._held and self._held[0].due <= now:
            held = heapq.heappop(self._held)
            held.packet.accept()
            if len(self._overhead.lateness) < LATENESS_SAMPLES:
                self._overhead.lateness.append(time.monotonic() - held.due)

    def release_all(self) -> None:
        self.release(float("inf"))


def serve(profile: Profile, seed: int) -> Overhead:
    overhead = Overhead()
    scheduler = Scheduler(overhead)
    rng = random.Random(seed)
    queues = []
    for number, path in ((UP_QUEUE, profile.up), (DOWN_QUEUE, profile.down)):
        queue = NetfilterQueue()
        impairment = Impairment(path, random.Random(rng.getrandbits(64)))
        queue.bind(number, scheduler.on_packet(impairment), max_len=QUEUE_LENGTH, mode=COPY_META)
        queues.append(queue)
    stop, wakeup = socket.socketpair()
    wakeup.setblocking(False)
    signal.set_wakeup_fd(wakeup.fileno())
    signal.signal(signal.SIGTERM, lambda _signum, _frame: None)  # the wake-up fd does the work
    selector = selectors.DefaultSelector()
    selector.register(stop, selectors.EVENT_READ)
    for queue in queues:
        selector.register(queue.get_fd(), selectors.EVENT_READ, queue)
    print("ready", flush=True)
    try:
        while True:
            events = selector.select(scheduler.wait())
            if any(key.fileobj is stop for key, _ in events):
                break
            for key, _ in events:
                key.data.run(block=False)
            scheduler.release(time.monotonic())
    finally:
        scheduler.release_all()
        for queue in queues:
            queue.unbind()
    return overhead


def main(argv: list[str]) -> None:
    profile_json, seed = argv
    overhead = serve(Profile.from_json(profile_json), int(seed))
    print(json.dumps(overhead.summary()), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

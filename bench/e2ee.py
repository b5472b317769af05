"""DAVE costs, measured on this machine: frame encryption and group convergence.

Run: .venv/bin/python bench/e2ee.py [--seconds S]

Prints one figure a line. Frame rates are for dave.py (libdave's C++ via bindings) and are set
against the same frame sealed by plain AES-128-GCM (`cryptography`, OpenSSL) in the same process:
the ratio is what DAVE's framing, nonce handling and bindings cost over the bare cipher. Group
convergence runs the gateway and every member in this one process over the in-memory link (no
network), from the event (a join or a leave) until every member has executed the new epoch; joins
are set against the 2-member join and leaves against the join of the same group, in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support import FRAMES, dave_members, join, new_group

from parley.sdk.member import DaveMember, Media

GROUP_SIZES = (2, 5, 10, 25)
FRAME_NAMES = {Media.AUDIO: "opus 60 B", Media.VIDEO: "vp8 30 KB"}


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of `fn`, over about `seconds` of wall time."""
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(50):
            fn()
        count += 50
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def frame_rates(seconds: float) -> None:
    _, link = new_group()
    sender, receiver = dave_members(1, 2)
    join(link, sender, receiver)
    for media in Media:
        print_frame_rates(sender, receiver, media, seconds)


def print_frame_rates(sender: DaveMember, receiver: DaveMember, media: Media, seconds: float) -> None:
    frame = FRAMES[media]
    sealed = sender.encrypt(media, frame)
    assert sealed is not None and receiver.decrypt(1, media, sealed) == frame
    encrypt = rate(lambda: sender.encrypt(media, frame), seconds)
    # Each decrypt needs a fresh frame (libdave refuses a replayed nonce): seal a batch first.
    frames = iter([sender.encrypt(media, frame) or b"" for _ in range(int(encrypt * seconds) + 100)])
    decrypt = rate(lambda: receiver.decrypt(1, media, next(frames)), seconds * 0.8)
    aead, nonce = AESGCM(os.urandom(16)), os.urandom(12)
    baseline = rate(lambda: aead.encrypt(nonce, frame, None), seconds)
    name = FRAME_NAMES[media]
    print(f"encrypt {name}: {encrypt:,.0f} frames/s (plain AES-GCM {baseline / encrypt:.1f}x faster)")
    print(f"decrypt {name}: {decrypt:,.0f} frames/s (plain AES-GCM {baseline / decrypt:.1f}x faster)")


def convergence(size: int, rounds: int) -> tuple[float, float]:
    """Median seconds for a group of `size` to settle after one join, and after one leave."""
    joins, leaves = [], []
    for _ in range(rounds):
        gateway, link = new_group()
        members = dave_members(*range(1, size + 1))
        join(link, *members[:-1])
        start = time.perf_counter()
        join(link, members[-1])
        joins.append(time.perf_counter() - start)
        assert gateway.members() == set(range(1, size + 1)) and gateway.deadline() is None
        start = time.perf_counter()
        link.leave(size)
        link.run()
        leaves.append(time.perf_counter() - start)
        assert gateway.members() == set(range(1, size)) or size == 2
    return statistics.median(joins), statistics.median(leaves)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=1.0, help="time per frame-rate figure")
    parser.add_argument("--rounds", type=int, default=3, help="repeats per group size (median)")
    args = parser.parse_args()
    frame_rates(args.seconds)
    results = {size: convergence(size, args.rounds) for size in GROUP_SIZES}
    base_join = results[GROUP_SIZES[0]][0]
    for size, (join_s, _) in results.items():
        ratio = join_s / base_join
        print(f"converge after join, {size} members: {join_s * 1000:.1f} ms ({ratio:.1f}x 2 members)")
    for size, (join_s, leave_s) in results.items():
        # One of two leaving is a sole-member reset: no commit at all. Otherwise every remaining
        # member commits a Remove, which needs an update path: dearer than a join's Add.
        note = "sole-member reset, no commit" if size == 2 else f"{leave_s / join_s:.1f}x the join"
        print(f"converge after leave, {size} members: {leave_s * 1000:.1f} ms ({note})")


if __name__ == "__main__":
    main()

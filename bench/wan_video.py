"""How well SDK video holds up on a WAN profile: freezes, frames decoded, and recovery after a key rotation.

Run: scripts/netns .venv/bin/python bench/wan_video.py [--wan transcontinental] [--seconds S]

Devices A (delegation A) and B1 (delegation B) join from behind their routers and call for S seconds;
then B2 joins and leaves (two key rotations) and the call goes on for S more seconds. For each of the two
feeds (A seen by B1, B1 seen by A) it prints:
- the longest freeze: the longest time without a decoded video frame, once the first one arrived;
- the share of frames decoded: decoded video frames over the frames the publisher sent meanwhile;
- the longest freeze after B2 left (the key rotation), up to the end of the run;
and, over the whole run, how many picture-loss requests (PLI) receivers sent, keyframes senders made,
NACKs receivers sent and packets senders retransmitted (counted by wrapping aiortc's methods here).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from aiortc import RTCRtpReceiver, RTCRtpSender

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from calls import joined, summit_links, until
from conftest import serving
from feeds import FeedWatch, frames_sent, sampling, video_of
from wan.profiles import named

from parley.summit.model import Role

counts: Counter[str] = Counter()


def count(owner: type, name: str, label: str) -> None:
    original = getattr(owner, name)

    def counted(self: Any, *args: Any) -> Any:
        counts[label] += 1
        return original(self, *args)

    setattr(owner, name, counted)


async def run(profile: str | None, seconds: float) -> None:
    count(RTCRtpReceiver, "_send_rtcp_pli", "pli sent")
    count(RTCRtpReceiver, "_send_rtcp_nack", "nack sent")
    count(RTCRtpSender, "_send_keyframe", "keyframe requests honoured")
    count(RTCRtpSender, "_retransmit", "retransmissions asked")
    with tempfile.TemporaryDirectory() as tmp:
        async with serving(Path(tmp), named(profile) if profile else None, test_hooks=True) as parley:
            roles = [("Delegation A", Role.PRINCIPAL), ("Delegation B", Role.PRINCIPAL)]
            links = summit_links(parley, [*roles, ("Delegation B", Role.DELEGATE)])
            async with joined(links[0], "A") as a, joined(links[1], "B1") as b1:
                await until(lambda: video_of(a, b1) > 0 and video_of(b1, a) > 0, 60, "video both ways")
                watches = [FeedWatch(b1, a), FeedWatch(a, b1)]
                sent0 = {c.user_id: frames_sent(c) for c in (a, b1)}
                start = time.monotonic()
                async with sampling(watches):
                    await asyncio.sleep(seconds)
                    async with joined(links[2], "B2") as b2:
                        executed = len(a.member.executed_transitions) if a.member else 0
                        await asyncio.sleep(3)
                        with contextlib.suppress(AssertionError):  # reported below if it did not
                            await until(
                                lambda: None is not a.group_code() == b2.group_code(), 20, "B2 joined"
                            )
                        joined_group = a.group_code() == b2.group_code()
                    left = time.monotonic()
                    await asyncio.sleep(seconds)
                end = time.monotonic()
                rotations = (len(a.member.executed_transitions) if a.member else 0) - executed
                for w in watches:
                    sent = frames_sent(w.other) - sent0[w.other.user_id]
                    got = len(w.video)
                    stats = w.me.feeds[w.other.user_id].stats["video"]
                    print(
                        f"{profile or 'loopback'}: {w.name}: "
                        f"longest freeze {max(w.video_gaps(start, end)):.2f} s, "
                        f"decoded {got}/{sent} = {got / max(sent, 1):.1%}, "
                        f"longest freeze after the leave {max(w.video_gaps(left, end)):.2f} s; "
                        f"frames given up {stats.lost}, not decrypted {stats.failed}, "
                        f"not decoded {stats.undecodable}, skipped {stats.skipped}, "
                        f"keyframe requests {stats.keyframe_requests}"
                    )
                print(
                    f"B2 joined the key group: {joined_group}; key changes seen by A meanwhile: {rotations}"
                )
    print(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wan", default=None, help="WAN profile (default: loopback)")
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    asyncio.run(run(args.wan, args.seconds))


if __name__ == "__main__":
    main()

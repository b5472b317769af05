"""What the tests' WAN harness costs by itself, so a profile's figures can be read net of it.

Run: scripts/netns .venv/bin/python bench/wan_harness.py [--echoes N]

Prints, for UDP echoes from a delegation's devices to the server's namespace and back (through its
NAT router): the round trip with no impairer in the path, with the impairer holding packets for a
zero delay (its own cost on a round trip, which crosses it twice), and under `transcontinental`;
then how late after their due time the impairer let packets go.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from wan.probe import echo
from wan.profiles import Path as WanPath
from wan.profiles import Profile, named, symmetric
from wan.topology import Wan


def measure(profile: Profile | None, count: int) -> tuple[list[float], dict[str, float]]:
    wan = Wan(profile, seed=14)
    try:
        site = wan.add("Delegation A")
        echo(site, count=5, interval=0.01, rtt_bound=1.0)  # ARP on each hop
        rtts = sorted(echo(site, count=count, interval=0.005, rtt_bound=2.0).rtts.values())
    finally:
        wan.close()
    return rtts, site.overhead


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--echoes", type=int, default=1000)
    count = parser.parse_args().echoes
    runs = [
        ("NAT only", None),
        ("impairer, zero delay", symmetric("zero", WanPath())),
        ("transcontinental", named("transcontinental")),
    ]
    for name, profile in runs:
        rtts, overhead = measure(profile, count)
        p99 = rtts[len(rtts) * 99 // 100]
        print(
            f"{name:22} round trip median {1000 * statistics.median(rtts):7.2f} ms, p99 {1000 * p99:7.2f} ms"
        )
        if overhead:
            late = ", ".join(f"{k} {v:.2f}" for k, v in overhead.items() if k.startswith("late"))
            print(f"{'':22} impairer lateness: {late}")


if __name__ == "__main__":
    main()

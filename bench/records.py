"""The record's costs (docs/record.md), on loopback in an isolated network namespace.

Run: scripts/netns .venv/bin/python bench/records.py [--rounds N] [--entries N]

Prints one figure a line:
- time to agree an outcome: over a real server (in this process, its own Janus), Delegation A's
  principal proposes and Delegation B's signs; from `propose()` to B's sign acknowledged, i.e.
  every delegation's signature stored on disk (median of N rounds); against the baseline of one
  entry written and acknowledged (A's position), in the same run;
- `parley verify` for a readout of 1,000 entries (real Ed25519 and P-256 keys, real certificates,
  the record's real core writing and sealing the log), as a person runs it (a new process), and
  `verify_readout` in this process; against a readout of 100 entries as the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from calls import local_server
from certified import certified_summit, closing
from record_course import Course
from records import desk, principals, seen

from parley.record.entry import EntryKind
from parley.record.readout import export_readout, verify_readout


async def agreeing(rounds: int) -> tuple[list[float], list[float]]:
    """(propose -> B's sign acknowledged, one position acknowledged) per round, in seconds."""
    agreed, written = [], []
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as folder:
        async with (
            local_server(Path(folder) / "parley") as server,
            closing(certified_summit(server, Path(folder) / "devices")) as summit,
        ):
            a, b = await principals(summit)
            ra, rb = desk(a), desk(b)
            for n in range(rounds):
                start = time.perf_counter()
                await ra.position(f"Delegation A's position number {n}.")
                written.append(time.perf_counter() - start)
                start = time.perf_counter()
                outcome = await ra.propose(f"Outcome number {n}: the teams meet again.")
                await seen(b, outcome)
                await rb.sign(outcome)  # acknowledged: on disk
                agreed.append(time.perf_counter() - start)
                await seen(a, outcome + 1)  # both copies at the same length before the next round
    return agreed, written


def readout_of(entries: int) -> tuple[bytes, Course]:
    """A sealed record of `entries` entries: positions, outcomes each signed by the other
    delegation, two seals."""
    course = Course()
    n = 0
    while course.rules is not None and len(course.rules.log) < entries - 3:
        outcome = course.write("a", EntryKind.OUTCOME, f"Outcome {n}: the teams meet again.")
        course.write("b", EntryKind.SIGN, refers=outcome.hash())
        n += 1
    while course.rules is not None and len(course.rules.log) < entries - 2:
        course.write("b", EntryKind.POSITION, "Delegation B asks for inspections first.")
    course.seal()
    assert course.rules is not None and len(course.rules.log) == entries
    return export_readout(course.rules, course.statements, "Delegation A"), course


def verify_times(entries: int, repeats: int) -> tuple[float, float]:
    """(`parley verify` in a new process, `verify_readout` in this one): median seconds."""
    readout, course = readout_of(entries)
    pins = [arg for name, fp in course.pins.items() for arg in ("--pin", f"{name}={fp}")]
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as folder:
        path = Path(folder) / "readout.json"
        path.write_bytes(readout)
        command = [sys.executable, "-m", "parley.launcher", "verify", str(path), *pins]
        process, in_process = [], []
        for _ in range(repeats):
            start = time.perf_counter()
            # This interpreter and a file this run wrote: nothing from outside.
            run = subprocess.run(command, capture_output=True, check=False)  # noqa: S603
            process.append(time.perf_counter() - start)
            assert run.returncode == 0, run.stdout
            start = time.perf_counter()
            assert verify_readout(readout, course.pins).ok
            in_process.append(time.perf_counter() - start)
    return statistics.median(process), statistics.median(in_process)


async def main(rounds: int, entries: int, baseline: int, repeats: int) -> None:
    agreed, written = await agreeing(rounds)
    agree, write = statistics.median(agreed), statistics.median(written)
    p90 = sorted(agreed)[int(len(agreed) * 0.9)]
    print(f"time to agree an outcome (propose -> every signature stored): {agree * 1000:.0f} ms"
          f" (median of {rounds} rounds; p90 {p90 * 1000:.0f} ms)")  # fmt: skip
    print(f"one entry written and acknowledged (baseline): {write * 1000:.0f} ms")
    print(f"ratio agree/one entry: {agree / write:.2f}")
    small_process, small = verify_times(baseline, repeats)
    large_process, large = verify_times(entries, repeats)
    print(f"parley verify, {baseline} entries (baseline): {small_process * 1000:.0f} ms;"
          f" verify_readout in process: {small * 1000:.0f} ms")  # fmt: skip
    print(f"parley verify, {entries} entries: {large_process * 1000:.0f} ms;"
          f" verify_readout in process: {large * 1000:.0f} ms")  # fmt: skip
    print(f"ratio {entries}/{baseline} entries: parley verify {large_process / small_process:.2f},"
          f" verify_readout {large / small:.2f} (entries x{entries / baseline:.0f});"
          f" per entry {large / entries * 1e6:.0f} us")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=15, help="outcomes to agree (median)")
    parser.add_argument("--entries", type=int, default=1000, help="entries in the record to verify")
    parser.add_argument("--baseline", type=int, default=100, help="entries in the baseline record")
    parser.add_argument("--repeats", type=int, default=3, help="verifications to time (median)")
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.entries, args.baseline, args.repeats))

"""The impairer's decisions replayed packet by packet with a seeded random source and a stepped clock."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable

import pytest
from wan.impairment import Impairment
from wan.profiles import PROFILES, Burst, Path, Profile, named

PACKETS = 100_000


def replay(path: Path, spacing: float = 0.001) -> list[float | None]:
    impairment = Impairment(path, random.Random(7))
    return [impairment.admit(i * spacing) for i in range(PACKETS)]


def test_random_loss_drops_its_share_one_packet_at_a_time() -> None:
    dues = replay(Path(delay=0.01, loss=0.01))
    lost = [i for i, due in enumerate(dues) if due is None]
    assert len(lost) == pytest.approx(PACKETS * 0.01, rel=0.1)
    neighbours = sum(1 for a, b in itertools.pairwise(lost) if b == a + 1)
    assert neighbours < len(lost) * 0.03


def test_burst_loss_drops_its_share_in_runs_of_the_mean_length() -> None:
    burst = Burst.of(0.03, 3)
    assert burst.loss == pytest.approx(0.03)
    dues = replay(Path(delay=0.01, burst=burst))
    runs, run = [], 0
    for due in dues:
        if due is None:
            run += 1
        elif run:
            runs.append(run)
            run = 0
    assert sum(runs) == pytest.approx(PACKETS * 0.03, rel=0.15)
    assert sum(runs) / len(runs) == pytest.approx(3, rel=0.1)


def test_jitter_spreads_the_delay_but_never_reorders() -> None:
    path = Path(delay=0.035, jitter=0.005)
    dues = [due for due in replay(path, spacing=0.0005) if due is not None]
    assert dues == sorted(dues)
    widely = [due for due in replay(path, spacing=0.02) if due is not None]
    delays = [due - i * 0.02 for i, due in enumerate(widely)]
    assert 0.030 <= min(delays) < 0.0305 and 0.0395 < max(delays) <= 0.040


def test_a_profile_travels_to_the_impairer_as_json() -> None:
    for profile in PROFILES.values():
        assert Profile.from_json(profile.to_json()) == profile
    assert named("transcontinental").rtt == pytest.approx(0.07)


@pytest.mark.parametrize(
    "path",
    [
        lambda: Path(delay=0.01, jitter=0.02),
        lambda: Path(loss=1.0),
        lambda: Path(rate=100),
        lambda: Burst.of(0.0, 3),
        lambda: named("dial-up"),
    ],
)
def test_impossible_figures_are_refused_with_the_rule(path: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        path()

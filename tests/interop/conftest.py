"""Interop tests run davey in Node child processes; scripts/setup installs it (npm ci)."""

from __future__ import annotations

import pytest
from davey_member import ensure_davey_installed


@pytest.fixture(scope="session", autouse=True)
def _davey_installed() -> None:
    # No skip when Node is missing: a green run must mean davey was really tested.
    ensure_davey_installed()

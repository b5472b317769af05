"""Fixtures every async test shares: the asyncio backend, and `parley serve` in the test's loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from calls import local_server

from parley.server.runtime import ParleyServer


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def parley(tmp_path: Path) -> AsyncIterator[ParleyServer]:
    """`parley serve` in this event loop: store in tmp_path, its own Janus, ICE on 127.0.1.1 only."""
    async with local_server(tmp_path / "parley", test_hooks=True) as server:
        yield server


@pytest.fixture
async def production_parley(tmp_path: Path) -> AsyncIterator[ParleyServer]:
    """The same, with test hooks off, as a real deployment runs."""
    async with local_server(tmp_path / "parley", test_hooks=False) as server:
        yield server

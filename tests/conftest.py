"""Fixtures every async test shares: the asyncio backend, and `parley serve` in the test's loop."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from calls import RTP_PORTS, free_port, free_udp_range

from parley.server.config import load_settings
from parley.server.runtime import ParleyServer


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def parley(tmp_path: Path) -> AsyncIterator[ParleyServer]:
    """`parley serve` in this event loop: store in tmp_path, its own Janus, ICE on 127.0.1.1 only."""
    async with _server(tmp_path, test_hooks=True) as server:
        yield server


@pytest.fixture
async def production_parley(tmp_path: Path) -> AsyncIterator[ParleyServer]:
    """The same, with test hooks off, as a real deployment runs."""
    async with _server(tmp_path, test_hooks=False) as server:
        yield server


@contextlib.asynccontextmanager
async def _server(tmp_path: Path, test_hooks: bool) -> AsyncIterator[ParleyServer]:
    settings = load_settings(
        None,
        environ={},
        data_dir=tmp_path / "parley",
        port=free_port(socket.SOCK_STREAM),
        janus_ws_port=free_port(socket.SOCK_STREAM),
        rtp_port_range=free_udp_range(RTP_PORTS),
        ice_enforce_list="127.",
        test_hooks=test_hooks,  # may the browser tests' hooks (e.g. a wrong DAVE group) act?
    )
    server = ParleyServer(settings)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()

"""Fixtures every async test shares: the asyncio backend, and `parley serve` in the test's loop."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from calls import local_server
from wan import devices
from wan.profiles import PROFILES, Profile, named
from wan.topology import SERVER_ADDRESS, Wan

from parley.server.runtime import ParleyServer


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--wan",
        default=os.environ.get("PARLEY_WAN") or None,
        choices=sorted(PROFILES),
        help="put the SDK devices behind NAT routers on this WAN profile (or set PARLEY_WAN)",
    )


def pytest_report_header(config: pytest.Config) -> str:
    return f"WAN profile: {config.getoption('--wan') or 'none (loopback)'}"


@pytest.fixture(scope="session")
def wan_profile(request: pytest.FixtureRequest) -> Profile | None:
    """The profile --wan or PARLEY_WAN names, None for the plain loopback."""
    name = request.config.getoption("--wan")
    return named(name) if name else None


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@contextlib.asynccontextmanager
async def serving(data_dir: Path, wan: Profile | None, test_hooks: bool) -> AsyncIterator[ParleyServer]:
    """`local_server`; with a WAN profile, listening on the server's WAN address, and delegations A
    and B each behind a NAT router on that profile (their SDK devices join from there)."""
    if wan is None:
        async with local_server(data_dir, test_hooks=test_hooks) as server:
            yield server
        return
    network = Wan(wan)
    try:
        with devices.offices(network, ["Delegation A", "Delegation B"]):
            async with local_server(data_dir, test_hooks=test_hooks, host=SERVER_ADDRESS) as server:
                yield server
    finally:
        network.close()


@pytest.fixture
async def parley(tmp_path: Path, wan_profile: Profile | None) -> AsyncIterator[ParleyServer]:
    """`parley serve` in this event loop: store in tmp_path, its own Janus, ICE on 127.0.1.1 only."""
    async with serving(tmp_path / "parley", wan_profile, test_hooks=True) as server:
        yield server


@pytest.fixture
async def production_parley(tmp_path: Path, wan_profile: Profile | None) -> AsyncIterator[ParleyServer]:
    """The same, with test hooks off, as a real deployment runs."""
    async with serving(tmp_path / "parley", wan_profile, test_hooks=False) as server:
        yield server

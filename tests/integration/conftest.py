"""Integration tests run a real Janus as Parley runs it: a managed child in a folder of its own.

They need the isolated network namespace (scripts/netns, entered by scripts/test): Janus gathers ICE
candidates on pv0's 127.0.1.1 only (``ice_enforce_list = "127."``), and aioice gathers the same address.
"""

from __future__ import annotations

import secrets
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from calls import RTP_PORTS, free_port, free_udp_range

from parley.media.janus_client import JanusClient, JanusSession
from parley.media.janus_config import JanusConfig
from parley.media.janus_process import JanusProcess


@pytest.fixture(scope="session", autouse=True)
def _janus_installed() -> None:
    # No skip: a green run must mean Janus was really tested (scripts/setup installs it).
    assert shutil.which("janus"), "janus is not installed (apt-get install janus; scripts/setup does it)"


@pytest.fixture
def janus_config() -> JanusConfig:
    return JanusConfig(
        ws_port=free_port(socket.SOCK_STREAM),
        api_secret=secrets.token_urlsafe(24),
        rtp_port_range=free_udp_range(RTP_PORTS),
        event_loops=2,
        ice_enforce_list="127.",
        ignore_mdns=True,
        ipv6=False,
    )


@pytest.fixture
async def janus(janus_config: JanusConfig, tmp_path: Path) -> AsyncIterator[JanusProcess]:
    # tmp_path outlives the test (pytest keeps the last runs): janus.log says why an SDP was refused.
    process = JanusProcess(janus_config, tmp_path / "janus", backoff=(0.0, 0.2, 0.5))
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


@pytest.fixture
async def janus_client(janus: JanusProcess) -> AsyncIterator[JanusClient]:
    client = await JanusClient.connect(janus.url, janus.config.api_secret)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def janus_session(janus_client: JanusClient) -> JanusSession:
    return await janus_client.create_session()

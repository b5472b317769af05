"""Helpers for the record's tests: the delegations' principals (their officer consoles) in a
certified summit, holding the record key, and `parley verify` run as a person runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from calls import until
from certified import CertifiedSummit, officer_console

from parley.sdk.client import ParleyClient
from parley.sdk.record import RecordDesk


def desk(client: ParleyClient) -> RecordDesk:
    assert client.record is not None, "this device has no record desk"
    return client.record


def holds_key(client: ParleyClient) -> bool:
    return client.record is not None and client.record.key is not None


async def principals(summit: CertifiedSummit) -> tuple[ParleyClient, ParleyClient]:
    """Delegation A's and B's principals (their officer consoles: signers), media off, each with
    the record key."""
    a = await officer_console(summit, "Delegation A", "Principal A", None)
    b = await officer_console(summit, "Delegation B", "Principal B", None)
    await until(lambda: holds_key(a) and holds_key(b), 10, "both principals to hold the record key")
    return a, b


async def seen(client: ParleyClient, seq: int) -> None:
    """Until this client's copy of the record holds entry `seq`."""
    await desk(client).wait(lambda: len(desk(client).rules.log) > seq)


def verify(readout: Path, summit: CertifiedSummit, *extra: str) -> subprocess.CompletedProcess[str]:
    """`parley verify READOUT --pin ... [extra]`, offline, as a reader of the readout runs it."""
    pins = [arg for name, key in summit.keys.items() for arg in ("--pin", f"{name}={key.fingerprint}")]
    return subprocess.run(
        [sys.executable, "-m", "parley.launcher", "verify", str(readout), *pins, *extra],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

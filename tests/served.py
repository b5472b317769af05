"""`parley serve` as a real process, as an operator runs it: its own data directory, its own Janus,
its settings from PARLEY_* variables, the organiser's HTTP API with the admin token the server
keeps in that directory. A test may SIGKILL it and start it again on the same directory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from calls import RTP_PORTS, free_port, free_udp_range

from parley.identity.delegation_key import DelegationKey


@dataclass
class ServedParley:
    """The settings of one server, kept across its restarts (same ports, same links)."""

    data_dir: Path
    port: int = field(default_factory=lambda: free_port(socket.SOCK_STREAM))
    janus_port: int = field(default_factory=lambda: free_port(socket.SOCK_STREAM))
    rtp: tuple[int, int] = field(default_factory=lambda: free_udp_range(RTP_PORTS))
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        """Start `parley serve` and wait until it answers /api/health."""
        env = dict(
            os.environ,
            PARLEY_DATA_DIR=str(self.data_dir),
            PARLEY_PORT=str(self.port),
            PARLEY_PUBLIC_URL=self.url,
            PARLEY_JANUS_WS_PORT=str(self.janus_port),
            PARLEY_RTP_PORT_RANGE=f"{self.rtp[0]}-{self.rtp[1]}",
            PARLEY_ICE_ENFORCE_LIST="127.",
        )
        log = (self.data_dir.parent / "serve.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "parley.cli", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"parley serve exited with {self.process.returncode}; see serve.log")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"parley serve did not answer within {timeout} s")
            time.sleep(0.1)

    def children(self) -> list[int]:
        """The server's child processes (its Janus)."""
        assert self.process is not None
        tasks = Path(f"/proc/{self.process.pid}/task")
        return [int(pid) for task in tasks.iterdir() for pid in (task / "children").read_text().split()]

    def kill(self) -> None:
        """SIGKILL: no shutdown of any kind, as a crash or the OOM killer ends it."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """The organiser's API, with the admin token from the data directory."""
        token = (self.data_dir / "admin.token").read_text().strip()
        answer = httpx.request(
            method, f"{self.url}{path}", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        answer.raise_for_status()
        return answer.json()

    def certified_summit(self, keys: dict[str, DelegationKey]) -> tuple[str, dict[str, str]]:
        """A summit with every delegation pinned, open admission; (its id, a principal's link
        per delegation)."""
        summit = self.api(
            "POST",
            "/api/summits",
            {
                "title": "Certified summit",
                "scheduled_start": datetime.now(UTC).isoformat(),
                "duration_minutes": 120,
                "delegations": [
                    {"name": name, "working_language": "en", "pin": key.fingerprint.digits}
                    for name, key in keys.items()
                ],
                "admission": "open",
            },
        )
        links = {}
        for delegation in summit["delegations"]:
            invitation = self.api(
                "POST",
                f"/api/summits/{summit['summit_id']}/invitations",
                {"delegation_id": delegation["delegation_id"], "role": "principal"},
            )
            links[delegation["name"]] = invitation["link"]
        return summit["summit_id"], links


def alive(pid: int) -> bool:
    """Is process `pid` running (not gone, not a zombie)?"""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"

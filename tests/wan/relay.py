"""A TURN relay for a test: Debian's coturn, in the server's namespace, on the server's WAN address.

A delegation whose firewall forwards no UDP (`Wan.add(..., udp_blocked=True)`) reaches Janus only
through it: its devices allocate a relay over TCP, and the relay speaks UDP to Janus on their
behalf. Credentials are the TURN REST API kind, from a secret the test shares with the Parley
server (`turn_secret`), as a deployment's coturn would run with `use-auth-secret`.

The relay writes its log to a file the test reads: which users allocated, and what they relayed.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from calls import free_port, free_udp_range
from wan.topology import SERVER_ADDRESS

READY_TIMEOUT = 10.0
RELAY_PORTS = 100  # one per allocation; a call test makes a few


@dataclass
class Relay:
    """A running coturn: where it listens, the shared secret, and its log."""

    port: int
    secret: str = field(repr=False)
    log: Path

    @property
    def tcp_url(self) -> str:
        """The URL a device behind a UDP-blocking firewall is given (`turn_servers`)."""
        return f"turn:{SERVER_ADDRESS}:{self.port}?transport=tcp"

    @property
    def udp_url(self) -> str:
        """The URL for whoever may use UDP: Janus itself (`janus_turn_server`)."""
        return f"turn:{SERVER_ADDRESS}:{self.port}?transport=udp"

    def allocated(self, username_suffix: str) -> bool:
        """Has a user whose REST username ends in `:<username_suffix>` been given a relay?"""
        pattern = rf"user <\d+:{re.escape(username_suffix)}>: incoming packet ALLOCATE processed, success"
        return re.search(pattern, self.log.read_text()) is not None


@contextlib.contextmanager
def relay(directory: Path) -> Iterator[Relay]:
    """coturn listening on the server's WAN address (TCP and UDP), relaying to loopback peers
    (Janus is at 127.0.1.1), until the block ends. Run inside scripts/netns."""
    directory.mkdir(parents=True, exist_ok=True)
    port, (low, high) = free_port(socket.SOCK_STREAM), free_udp_range(RELAY_PORTS)
    found = Relay(port, secrets.token_urlsafe(24), directory / "turnserver.log")
    config = directory / "turnserver.conf"
    config.write_text(
        "\n".join(
            [
                f"listening-ip={SERVER_ADDRESS}",
                f"listening-port={port}",
                f"relay-ip={SERVER_ADDRESS}",
                f"min-port={low}",
                f"max-port={high}",
                "use-auth-secret",
                f"static-auth-secret={found.secret}",
                "realm=parley.test",
                "allow-loopback-peers",  # every address of the test network is in 127/8
                "no-tls",
                "no-dtls",
                "no-cli",
                "verbose",  # allocations and their users in the log
                "simple-log",
                f"log-file={found.log}",
                f"pidfile={directory / 'turnserver.pid'}",
                f"userdb={directory / 'turndb'}",
            ]
        )
        + "\n"
    )
    config.chmod(0o600)  # it holds the secret
    process = subprocess.Popen(
        ["turnserver", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_listening(process, port)
        yield found
    finally:
        process.terminate()
        process.wait(READY_TIMEOUT)


def _wait_listening(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"turnserver exited with {process.returncode} (is coturn installed?)")
        with socket.socket() as probe:
            if probe.connect_ex((SERVER_ADDRESS, port)) == 0:
                return
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"turnserver did not listen on {SERVER_ADDRESS}:{port} within {READY_TIMEOUT} s")

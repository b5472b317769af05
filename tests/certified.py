"""Helpers for certified calls: a summit created with its delegations' pins, officer consoles and
devices of the SDK that enroll through the server as people would (the device shows its code,
the officer compares it with the request's, and approves). Real keys throughout: each
delegation's Ed25519 key (parley.identity), each device's persistent DAVE key (dave.py)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from calls import until

from parley.identity.delegation_key import DelegationKey
from parley.identity.fingerprint import Fingerprint
from parley.media.sources import PatternVideoTrack, ToneAudioTrack
from parley.sdk.client import ParleyClient
from parley.sdk.officer import Waiting
from parley.server.runtime import ParleyServer
from parley.summit.course import Admission
from parley.summit.model import Role, Summit
from parley.summit.organiser import Seat

DELEGATIONS = ("Delegation A", "Delegation B")


@dataclass
class CertifiedSummit:
    server: ParleyServer
    summit: Summit
    keys: dict[str, DelegationKey]
    folder: Path
    clients: list[ParleyClient] = field(default_factory=list)

    @property
    def pins(self) -> dict[str, Fingerprint]:
        return {name: key.fingerprint for name, key in self.keys.items()}

    def link(self, delegation: str, role: Role = Role.DELEGATE) -> str:
        (link,) = self.server.state.organiser.invite_all(
            self.summit, [Seat(delegation, role)], timedelta(hours=1)
        )
        return link

    def browser_link(self, delegation: str, role: Role = Role.PRINCIPAL) -> str:
        """An invitation as the officer hands it to a browser: the own delegation's fingerprint
        rides in the fragment beside the token (web/src/invite.ts)."""
        base, token = self.link(delegation, role).split("#", 1)
        return f"{base}#token={token}&delegation={self.keys[delegation].fingerprint.digits}"

    def client(self, delegation: str, name: str, pattern: int | None, **options: object) -> ParleyClient:
        """A device of `delegation` with its own key file and recognisable media (None: it only
        receives), certified mode (its own delegation's fingerprint given, as its link or
        officer gives it)."""
        options.setdefault("delegation", self.keys[delegation].fingerprint)
        client = ParleyClient(
            self.link(delegation, options.pop("role", Role.DELEGATE)),  # type: ignore[arg-type]
            [name],
            audio=None if pattern is None else ToneAudioTrack(300.0 + 40 * pattern),
            video=None if pattern is None else PatternVideoTrack(pattern),
            key_file=self.folder / f"{name}.key",
            **options,  # type: ignore[arg-type]
        )
        self.clients.append(client)
        return client


def returning(summit: CertifiedSummit, device: ParleyClient) -> ParleyClient:
    """The same device again (its link, its key file, so its kept certificate), receiving only."""
    link = device.link
    again = ParleyClient(
        f"{link.base_url}/join/{link.summit_id}#{link.token}",
        device.people,
        key_file=device.key_file,
        delegation=device.delegation,
    )
    summit.clients.append(again)
    return again


def certified_summit(server: ParleyServer, folder: Path) -> CertifiedSummit:
    """Two delegations, each with its key, pinned by the organiser as its officer read it out."""
    keys = {name: DelegationKey.generate() for name in DELEGATIONS}
    summit = server.store.create_summit(
        "Certified summit",
        datetime.now(UTC),
        120,
        [(name, "en") for name in DELEGATIONS],
        Admission.OPEN,
        pins={name: key.fingerprint.digits for name, key in keys.items()},
    )
    folder.mkdir(parents=True, exist_ok=True)
    return CertifiedSummit(server, summit, keys, folder)


@contextlib.asynccontextmanager
async def closing(summit: CertifiedSummit) -> AsyncIterator[CertifiedSummit]:
    try:
        yield summit
    finally:
        for client in summit.clients:
            await client.close()


async def officer_console(
    summit: CertifiedSummit, delegation: str, name: str, pattern: int | None
) -> ParleyClient:
    """The delegation's officer console: certified by itself, publishing every delegation's pin."""
    console = summit.client(
        delegation,
        name,
        pattern,
        officer=summit.keys[delegation],
        officer_pins=summit.pins,
        role=Role.PRINCIPAL,
    )
    await console.join()
    await until(lambda: console.admitted.is_set(), 10, f"{name}'s console to be in the call")
    return console


def request_of(console: ParleyClient, user_id: int) -> Waiting | None:
    """The enrollment request of device `user_id` waiting at this officer console, if any."""
    assert console.console is not None
    return next((w for w in console.console.waiting if w.user_id == user_id), None)


async def enroll(console: ParleyClient, device: ParleyClient) -> None:
    """The device (joined) asks; its officer sees the request, compares the code with the one the
    device shows, and approves; the device takes its certificate and goes into the call."""
    await until(
        lambda: request_of(console, device.user_id) is not None, 10, "the request to reach the officer"
    )
    waiting = request_of(console, device.user_id)
    assert waiting is not None and waiting.request.code == device.enrollment_code
    await console.approve(waiting)
    await until(lambda: device.admitted.is_set(), 10, "the certified device to be let into the call")
    assert device.enrollment_code is None

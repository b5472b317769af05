"""Removal that sticks and revocation, against the real server, Janus and SDK devices (dave.py).

A host's removal holds for the link the device came with: its next device waits in the lobby,
flagged, until the host admits it again, even where it would otherwise go straight in (open
admission, a host's link) and across a restart of the server. A revoked link's devices leave the
call and the lobby at once (MLS removal, Janus handles dropped) and the link admits no one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import httpx
import pytest
from calls import joined, local_server, summit_links, until

from parley.cli import main
from parley.media.janus_client import JanusClient
from parley.media.videoroom import VideoRoom
from parley.protocol.codes import ErrorCode
from parley.protocol.server_ops import LobbyDevice
from parley.sdk.client import InviteLink, JoinError, ParleyClient
from parley.sdk.requests import RequestRefused
from parley.server.runtime import ParleyServer
from parley.summit.course import Admission
from parley.summit.model import Role

pytestmark = pytest.mark.anyio


@contextlib.asynccontextmanager
async def device(link: str, name: str) -> AsyncIterator[ParleyClient]:
    """A device that joins and may wait in the lobby (`joined` expects media names)."""
    client = ParleyClient(link, [name])
    await client.join()
    try:
        yield client
    finally:
        await client.close()


def _waiting(host: ParleyClient, client: ParleyClient) -> LobbyDevice | None:
    return next((w for w in host.lobby if w.user_id == client.user_id), None)


def _flagged(host: ParleyClient, client: ParleyClient) -> bool:
    """The host sees the device waiting, flagged as one whose link it removed a device of."""
    entry = _waiting(host, client)
    return entry is not None and entry.removed_earlier


def _in_group(client: ParleyClient, other: ParleyClient) -> bool:
    """`other` holds a leaf in the client's key group (its MLS tree), whatever the roster says."""
    return client.member is not None and other.user_id in client.member.roster


def _same_group(*clients: ParleyClient) -> bool:
    codes = {c.group_code() for c in clients}
    return len(codes) == 1 and None not in codes


async def _janus_participants(server: ParleyServer, room: int) -> set[int]:
    """Who Janus itself has in the summit's room, asked with the server's own API access."""
    async with await JanusClient.connect(server.media.url, server.janus.config.api_secret) as janus:
        admin = await VideoRoom.attach(await janus.create_session())
        return {p.id for p in await admin.list_participants(room)}


async def test_a_removed_delegate_cannot_walk_back_in_under_open_admission_even_after_a_restart(
    tmp_path: Path,
) -> None:
    data = tmp_path / "parley"
    async with local_server(data) as server:
        host_link, delegate_link = summit_links(
            server, [("Delegation A", Role.HOST), ("Delegation B", Role.DELEGATE)], admission=Admission.OPEN
        )
        base = server.settings.base_url
        async with joined(host_link, "A") as host:
            async with joined(delegate_link, "B1") as delegate:
                await until(lambda: _same_group(host, delegate), 10, "the group")
                await host.remove(delegate.user_id)
                await until(lambda: delegate.ended is not None, 5, "the removed device to be told")
                assert delegate.ended is not None and delegate.ended.code == ErrorCode.REMOVED

            async with device(delegate_link, "Delegate B") as again:
                # Open admission, the same link: it waits, and the host sees why.
                assert not again.admitted.is_set()
                await until(lambda: _waiting(host, again) is not None, 5, "the host to see it waiting")
                assert _flagged(host, again)
                assert again.user_id not in host.roster
                assert not _in_group(host, again)

    # The removal outlives the server: a restarted one on the same data directory still holds it.
    async with local_server(data) as restarted:
        moved = restarted.settings.base_url
        host_link, delegate_link = (link.replace(base, moved) for link in (host_link, delegate_link))
        async with joined(host_link, "A") as host, device(delegate_link, "Delegate B") as again:
            assert not again.admitted.is_set()
            await until(lambda: _waiting(host, again) is not None, 5, "the host to see it waiting")
            assert _flagged(host, again)

            await host.admit(again.user_id)  # the host's deliberate choice lifts the removal
            await again.wait_admitted(10)
            await until(lambda: _same_group(host, again), 10, "the readmitted device in the group")
            invitation = restarted.store.get_invitation(_invitation_id(restarted, delegate_link))
            assert invitation is not None and invitation.removed is False


async def test_a_removed_host_device_cannot_walk_back_in_under_host_admission(parley: ParleyServer) -> None:
    first_link, second_link = summit_links(
        parley, [("Delegation A", Role.HOST), ("Delegation B", Role.HOST)], admission=Admission.HOST
    )
    async with joined(first_link, "A") as host:
        async with joined(second_link, "B1") as second:
            await until(lambda: _same_group(host, second), 10, "the group")
            await host.remove(second.user_id)
            await until(lambda: second.ended is not None, 5, "the removed host device to be told")

        async with device(second_link, "Host B") as again:
            # A host's link, which otherwise goes straight in: it waits like anyone else, flagged.
            assert not again.admitted.is_set()
            await until(lambda: _waiting(host, again) is not None, 5, "the host to see it waiting")
            assert _flagged(host, again)
            # From the lobby, no host control works: it cannot admit itself or change the summit.
            for control in (partial(again.admit, again.user_id), partial(again.lock, True)):
                with pytest.raises(RequestRefused) as refused:
                    await control()
                assert refused.value.code == ErrorCode.NOT_ADMITTED
            assert not again.admitted.is_set() and host.course.locked is False

            await host.admit(again.user_id)
            await again.wait_admitted(10)
            await until(lambda: _same_group(host, again), 10, "the readmitted host device in the group")


async def test_a_principal_waiting_in_the_lobby_cannot_admit_itself_under_delegation_head_admission(
    parley: ParleyServer,
) -> None:
    """Who may admit is decided for devices in the call: a head waiting in the lobby is not one."""
    host_link, head_link = summit_links(
        parley,
        [("Delegation A", Role.HOST), ("Delegation B", Role.PRINCIPAL)],
        admission=Admission.DELEGATION_HEAD,
    )
    async with joined(host_link, "A") as host, device(head_link, "Principal B") as head:
        await until(lambda: _waiting(host, head) is not None, 5, "the host to see it waiting")
        with pytest.raises(RequestRefused) as refused:
            await head.admit(head.user_id)
        assert refused.value.code == ErrorCode.NOT_ADMITTED and not head.admitted.is_set()
        assert _waiting(host, head) is not None and head.user_id not in host.roster


async def test_revoking_a_link_over_the_http_api_removes_its_device_at_once_and_refuses_it_again(
    parley: ParleyServer,
) -> None:
    host_link, b_link, revoked_link = summit_links(
        parley,
        [("Delegation A", Role.HOST), ("Delegation B", Role.PRINCIPAL), ("Delegation B", Role.DELEGATE)],
    )
    summit_id = InviteLink.parse(host_link).summit_id
    admin = {"Authorization": f"Bearer {parley.admin_token}"}
    async with (
        joined(host_link, "A") as host,
        joined(b_link, "B1") as b,
        joined(revoked_link, "B2") as revoked,
        httpx.AsyncClient(base_url=parley.settings.base_url, trust_env=False) as http,
    ):
        room = host.summit.channel_id
        await until(lambda: _same_group(host, b, revoked), 15, "one group of three")
        assert _in_group(host, revoked) and _in_group(b, revoked)
        await until(lambda: revoked.publisher is not None and revoked.user_id in host.feeds, 15, "its media")
        assert revoked.user_id in await _janus_participants(parley, room)

        # The organiser finds the link by delegation and role, and revokes it.
        listed = await http.get(f"/api/summits/{summit_id}/invitations", headers=admin)
        assert listed.status_code == 200
        (delegate,) = [i for i in listed.json() if i["role"] == "delegate"]
        assert delegate["invitation_id"] == _invitation_id(parley, revoked_link) and not delegate["revoked"]
        path = f"/api/invitations/{delegate['invitation_id']}/revoke"
        assert (await http.post(path)).status_code == 401
        answer = await http.post(path, headers=admin)
        assert answer.status_code == 200, answer.text
        assert answer.json()["devices_removed"] == 1 and answer.json()["invitation"]["revoked"] is True

        # At once: told, out of the others' key group (the MLS tree) and out of Janus.
        await until(lambda: revoked.ended is not None, 5, "the revoked device to be told")
        assert revoked.ended is not None and revoked.ended.code == ErrorCode.INVITATION_REVOKED
        await until(
            lambda: not _in_group(host, revoked) and not _in_group(b, revoked),
            5,
            "the key group to drop it",
        )
        await until(lambda: _same_group(host, b), 5, "the two to share the new epoch")
        assert revoked.user_id not in await _janus_participants(parley, room)

        with pytest.raises(JoinError) as refused:
            await ParleyClient(revoked_link, ["Delegate B"]).join()
        assert refused.value.code == "invitation_revoked"
        check = await http.post(
            "/api/invitations/check",
            json={"summit_id": summit_id, "token": InviteLink.parse(revoked_link).token},
        )
        assert check.status_code == 403
        assert (await http.post("/api/invitations/0123456789abcdef/revoke", headers=admin)).status_code == 404
    assert "revoked" in [kind for _, kind, _ in parley.store.read_log(summit_id)]


async def test_the_host_revokes_a_devices_link_and_every_device_of_it_leaves_the_call_and_the_lobby(
    parley: ParleyServer,
) -> None:
    host_link, shared_link = summit_links(
        parley,
        [("Delegation A", Role.HOST), ("Delegation B", Role.PRINCIPAL, None, 2)],
        admission=Admission.HOST,
    )
    async with joined(host_link, "A") as host, device(shared_link, "Principal B") as first:
        await host.admit(first.user_id)
        await first.wait_admitted(10)
        await until(lambda: _same_group(host, first), 10, "the group")
        async with device(shared_link, "Someone else with B's link") as second:
            await until(lambda: _waiting(host, second) is not None, 5, "the second device in the lobby")

            await host.revoke(first.user_id)
            await until(lambda: first.ended is not None and second.ended is not None, 5, "both to be told")
            assert first.ended is not None and second.ended is not None
            assert first.ended.code == second.ended.code == ErrorCode.INVITATION_REVOKED
            await until(lambda: not _in_group(host, first), 5, "the key group to drop it")
            await until(lambda: not host.lobby and first.user_id not in host.roster, 5, "the host's view")

        with pytest.raises(JoinError) as refused:
            await ParleyClient(shared_link, ["Principal B"]).join()
        assert refused.value.code == "invitation_revoked"
    invitation = parley.store.get_invitation(_invitation_id(parley, shared_link))
    assert invitation is not None and invitation.revoked


async def test_the_cli_lists_a_summits_links_and_revokes_one_removing_its_device_at_once(
    parley: ParleyServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    host_link, revoked_link = summit_links(
        parley, [("Delegation A", Role.HOST), ("Delegation B", Role.DELEGATE)]
    )
    settings = parley.settings
    config = tmp_path / "parley.toml"
    config.write_text(f'[server]\nhost = "{settings.host}"\nport = {settings.port}\n')
    cli = ["--config", str(config), "--data-dir", str(settings.data_dir), "invitation"]
    summit_id, invitation_id = InviteLink.parse(host_link).summit_id, _invitation_id(parley, revoked_link)
    async with joined(host_link, "A") as host, joined(revoked_link, "B1") as revoked:
        await until(lambda: _same_group(host, revoked), 10, "the group")
        # The CLI talks to the server over HTTP: run it off this loop, which serves that request.
        assert await asyncio.to_thread(main, [*cli, "list", summit_id]) == 0
        (line,) = [line for line in capsys.readouterr().out.splitlines() if "delegate" in line]
        assert line.split()[0] == invitation_id and line.endswith("valid")

        assert await asyncio.to_thread(main, [*cli, "revoke", invitation_id]) == 0
        assert "1 device(s) with this link removed" in capsys.readouterr().out
        await until(lambda: revoked.ended is not None, 5, "the revoked device to be told")
        assert revoked.ended is not None and revoked.ended.code == ErrorCode.INVITATION_REVOKED
        await until(lambda: not _in_group(host, revoked), 5, "the key group to drop it")

        assert await asyncio.to_thread(main, [*cli, "list", summit_id]) == 0
        listed = capsys.readouterr().out.splitlines()
        assert next(line for line in listed if line.split()[0] == invitation_id).endswith("revoked")


def _invitation_id(server: ParleyServer, link: str) -> str:
    return server.signer.verify(InviteLink.parse(link).token).invitation_id

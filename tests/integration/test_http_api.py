"""The HTTP API as an organiser and a device use it, against the running server."""

from __future__ import annotations

import time
from dataclasses import replace

import httpx
import pytest
from calls import summit_links

from parley.identity.delegation_key import DelegationKey
from parley.sdk.client import InviteLink, JoinError, ParleyClient
from parley.server.runtime import ParleyServer
from parley.summit.model import Role

pytestmark = pytest.mark.anyio


async def test_an_organiser_creates_a_summit_and_invitations_and_a_device_joins_with_the_link(
    parley: ParleyServer,
) -> None:
    admin = {"Authorization": f"Bearer {parley.admin_token}"}
    async with httpx.AsyncClient(base_url=parley.settings.base_url, trust_env=False) as http:
        body = {
            "title": "Talks on the river",
            "scheduled_start": "2026-12-01T10:00:00+01:00",
            "duration_minutes": 120,
            "delegations": [
                {"name": "North", "working_language": "en"},
                {"name": "South", "working_language": "fr"},
            ],
        }
        assert (await http.post("/api/summits", json=body)).status_code == 401
        assert (
            await http.post("/api/summits", json=body, headers={"Authorization": "Bearer nope"})
        ).status_code == 401
        created = await http.post("/api/summits", json=body, headers=admin)
        assert created.status_code == 201
        summit = created.json()
        assert summit["scheduled_start"].startswith("2026-12-01T09:00:00")  # kept in UTC
        assert [d["name"] for d in summit["delegations"]] == ["North", "South"]

        bad = {"title": "", "scheduled_start": "soon", "duration_minutes": 0, "delegations": [], "x": 1}
        refused = await http.post("/api/summits", json=bad, headers=admin)
        assert refused.status_code == 422
        assert {e["loc"][-1] for e in refused.json()["detail"]} >= {"title", "scheduled_start", "x"}

        south = summit["delegations"][1]["delegation_id"]
        invitation = await http.post(
            f"/api/summits/{summit['summit_id']}/invitations",
            json={"delegation_id": south, "role": "principal", "valid_hours": 2},
            headers=admin,
        )
        assert invitation.status_code == 201
        link = invitation.json()["link"]
        assert link.startswith(f"{parley.settings.base_url}/join/{summit['summit_id']}#pv1.")

        token = InviteLink.parse(link).token
        check = await http.post(
            "/api/invitations/check", json={"summit_id": summit["summit_id"], "token": token}
        )
        assert check.json() == check.json() | {
            "summit": "Talks on the river",
            "delegation": "South",
            "role": "principal",
        }
        forged = await http.post(
            "/api/invitations/check", json={"summit_id": summit["summit_id"], "token": token[:-2] + "xx"}
        )
        assert forged.status_code == 403 and "forged" in forged.json()["detail"]

        for method, path in (
            ("GET", "/api/summits"),
            ("GET", f"/api/summits/{summit['summit_id']}"),
            ("POST", f"/api/summits/{summit['summit_id']}/invitations"),
        ):
            for headers in ({}, {"Authorization": "Bearer wrong"}):
                denied = await http.request(method, path, params={"_": "x"}, headers=headers, json={})
                assert denied.status_code == 401, (method, path, headers)

        schema = (await http.get("/openapi.json")).json()
        assert {"/api/summits", "/api/summits/{summit_id}/invitations", "/api/invitations/check"} <= set(
            schema["paths"]
        )

    client = ParleyClient(link, ["South's principal"])
    await client.join()
    assert client.device.delegation == "South" and client.device.role is Role.PRINCIPAL
    await client.close()


async def test_an_organiser_sets_language_channels_and_invites_an_interpreter_into_one(
    parley: ParleyServer,
) -> None:
    admin = {"Authorization": f"Bearer {parley.admin_token}"}
    async with httpx.AsyncClient(base_url=parley.settings.base_url, trust_env=False) as http:
        body = {
            "title": "Interpreted talks",
            "scheduled_start": "2026-12-01T10:00:00Z",
            "duration_minutes": 60,
            "delegations": [{"name": "North", "working_language": "en"}],
            "languages": ["en", "fr"],
            "ducking": 0.3,
        }
        summit = (await http.post("/api/summits", json=body, headers=admin)).json()
        assert summit["languages"] == ["en", "fr"] and summit["ducking"] == 0.3
        unset = {k: v for k, v in body.items() if k not in ("languages", "ducking")}
        plain = (await http.post("/api/summits", json=unset, headers=admin)).json()
        assert plain["languages"] == [] and plain["ducking"] == 0.2

        for bad in (
            {"languages": ["en", "en"]},
            {"languages": ["not a tag"]},
            {"ducking": 1.5},
            {"ducking": None},
        ):
            refused = await http.post("/api/summits", json=body | bad, headers=admin)
            assert refused.status_code == 422, bad

        invitations = f"/api/summits/{summit['summit_id']}/invitations"
        north = summit["delegations"][0]["delegation_id"]
        made = await http.post(
            invitations, json={"delegation_id": north, "role": "interpreter", "language": "fr"}, headers=admin
        )
        assert made.status_code == 201 and made.json()["language"] == "fr"
        token = InviteLink.parse(made.json()["link"]).token
        check = await http.post(
            "/api/invitations/check", json={"summit_id": summit["summit_id"], "token": token}
        )
        assert check.json()["role"] == "interpreter" and check.json()["language"] == "fr"

        for wrong in (
            {"role": "interpreter"},  # an interpreter needs a channel
            {"role": "interpreter", "language": "de"},  # one the summit has
            {"role": "delegate", "language": "fr"},  # and only interpreters have one
        ):
            refused = await http.post(invitations, json={"delegation_id": north} | wrong, headers=admin)
            assert refused.status_code == 422, wrong
            assert "interpret" in refused.json()["detail"] or "language" in refused.json()["detail"]


async def test_the_join_pages_check_refuses_a_link_with_identifys_own_code_and_reason(
    parley: ParleyServer,
) -> None:
    delegate, interpreter, withdrawn = summit_links(
        parley,
        [
            ("Delegation B", Role.DELEGATE),
            ("Delegation B", Role.INTERPRETER, "ru"),
            ("Delegation A", Role.HOST),
        ],
    )
    summit_id = InviteLink.parse(delegate).summit_id
    claims, interpreting, revoked = (
        parley.signer.verify(InviteLink.parse(link).token) for link in (delegate, interpreter, withdrawn)
    )
    assert parley.store.revoke_invitation(revoked.invitation_id)
    # Tokens the server itself minted, that its invitations on record do not back.
    minted = [
        parley.signer.mint(replace(claims, language="ru")),  # a delegate with a channel
        parley.signer.mint(replace(interpreting, language="de")),  # a channel the summit lacks
        parley.signer.mint(replace(claims, role=Role.HOST)),  # not the role on record
        parley.signer.mint(replace(claims, expires_at=int(time.time()) - 1)),
        parley.signer.mint(replace(claims, invitation_id="0123456789abcdef")),  # none on record
    ]
    links = [withdrawn, *(parley.state.organiser.link(summit_id, token) for token in minted)]
    async with httpx.AsyncClient(base_url=parley.settings.base_url, trust_env=False) as http:
        for link in links:
            check = await http.post(
                "/api/invitations/check", json={"summit_id": summit_id, "token": InviteLink.parse(link).token}
            )
            with pytest.raises(JoinError) as identify:
                await ParleyClient(link, ["Someone"]).join()
            assert identify.value.code.startswith("invitation_")
            assert (check.status_code, check.json()["detail"]) == (403, str(identify.value)), link


async def test_an_organiser_pins_every_delegation_s_key_or_none_and_ready_shows_the_pins(
    parley: ParleyServer,
) -> None:
    admin = {"Authorization": f"Bearer {parley.admin_token}"}
    north, south = DelegationKey.generate().fingerprint, DelegationKey.generate().fingerprint

    def summit(pins: list[str | None], names: tuple[str, str] = ("North", "South")) -> dict[str, object]:
        return {
            "title": "Pinned talks",
            "scheduled_start": "2026-12-01T10:00:00Z",
            "duration_minutes": 60,
            "delegations": [
                {"name": name, "working_language": "en", **({"pin": pin} if pin else {})}
                for name, pin in zip(names, pins, strict=True)
            ],
        }

    async with httpx.AsyncClient(base_url=parley.settings.base_url, trust_env=False) as http:
        refusals: list[tuple[list[str | None], tuple[str, str], str]] = [
            ([str(north), None], ("North", "South"), "pin every delegation's key, or none"),
            ([str(north), str(north)], ("North", "South"), "two pins are the same"),
            ([str(north), "12345"], ("North", "South"), "30"),
            ([str(north), str(south)], ("North", " South"), "NFC, without surrounding blanks"),
        ]
        for pins, names, why in refusals:
            refused = await http.post("/api/summits", json=summit(pins, names), headers=admin)
            assert refused.status_code == 422 and why in refused.text
        created = await http.post("/api/summits", json=summit([str(north), south.digits]), headers=admin)
        assert created.status_code == 201
        shown = created.json()
        assert [d["pin"] for d in shown["delegations"]] == [north.digits, south.digits]  # as digits
        invitation = await http.post(
            f"/api/summits/{shown['summit_id']}/invitations",
            json={"delegation_id": shown["delegations"][0]["delegation_id"], "role": "host"},
            headers=admin,
        )
        link = invitation.json()["link"]
    client = ParleyClient(link, ["Host"])
    await client.join()
    try:
        # No certificate: the host waits (enrolling) instead of entering the call; ready shows the pins.
        assert not client.admitted.is_set()
        assert client.summit.pins == {"North": north.digits, "South": south.digits}
    finally:
        await client.close()

"""The HTTP API and the signalling WebSocket, as one ASGI app (FastAPI publishes the OpenAPI schema).

Organisers (holding the admin token from the data directory) create summits and invitations;
anyone holding an invite link can check it and join. Rooms (live calls) are made when the first
device of a summit identifies and closed when the last one leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import secrets
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Response, WebSocket
from fastapi import Path as UrlPath
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from starlette.websockets import WebSocketDisconnect, WebSocketState

from parley.protocol.codes import CloseCode, ErrorCode
from parley.protocol.errors import ParleyError
from parley.protocol.fields import FingerprintText, Language
from parley.protocol.server_ops import encode
from parley.record.sealed import SealedEntry, SealedRecord
from parley.server.ice import IceServers
from parley.server.identity_relay import DocumentKind, Keep
from parley.server.origins import BrowserOrigins, ClientCors
from parley.server.rate_limit import SignalingLimits
from parley.server.record_relay import SIGNER_LIST, RecordChange
from parley.server.room import MediaPlane, Room
from parley.server.signaling import SignalingConnection, error_op
from parley.server.web import SecurityHeaders, default_web_dir, mount_web_client
from parley.store.database import Store
from parley.summit.admission import Entry, admit
from parley.summit.course import Admission, AtEnd, Course
from parley.summit.invitations import InvitationError, InvitationSigner
from parley.summit.model import (
    DEFAULT_DUCKING,
    MAX_DEVICES_PER_INVITATION,
    MAX_LANGUAGES,
    Invitation,
    Role,
    Summit,
    check_languages,
    check_pins,
)
from parley.summit.organiser import Organiser

MAX_INVITATION_HOURS = 24 * 90


class ServerState:
    """What the app and every connection share: the store, the signer, the media plane, the rooms."""

    def __init__(
        self,
        store: Store,
        signer: InvitationSigner,
        media: MediaPlane,
        base_url: str,
        ice_servers: IceServers,
        test_hooks: bool,
        limits: SignalingLimits,
    ) -> None:
        self.store = store
        self.limits = limits
        self.organiser = Organiser(store, signer, base_url)
        self.ice_servers = ice_servers
        self.test_hooks = test_hooks
        self.signer = signer
        self.media = media
        self.rooms: dict[str, Room] = {}
        self._lock = asyncio.Lock()
        media.on_published = self._published
        media.on_subscribed = self._subscribed

    async def _published(self, user_id: int) -> None:
        for room in self.rooms.values():
            if user_id in room.devices:
                await room.published(user_id)

    async def _subscribed(self, subscriber: int, feed: int) -> None:
        for room in self.rooms.values():
            if subscriber in room.devices:
                await room.subscribed(subscriber, feed)

    async def summit_for(self, summit_id: str) -> Summit | None:
        return await asyncio.to_thread(self.store.get_summit, summit_id)

    async def admit(self, token: str, summit_id: str) -> Entry:
        """What the token admits to in this summit now: the signer says the server minted it, the
        store says what is on record, and `admission.admit` decides (raises InvitationError). The
        join page's check and a device's identify both ask here."""
        claims = self.signer.verify(token)
        invitation = await asyncio.to_thread(self.store.get_invitation, claims.invitation_id)
        summit = await self.summit_for(summit_id)
        return admit(claims, summit_id, time.time(), invitation, summit)

    async def room(self, summit: Summit) -> Room:
        async with self._lock:
            room = self.rooms.get(summit.summit_id)
            if room is None:
                course = await asyncio.to_thread(self.store.load_course, summit)
                invitations = await asyncio.to_thread(self.store.list_invitations, summit.summit_id)
                kept = await asyncio.to_thread(self.store.documents, summit.summit_id)
                record = await asyncio.to_thread(self.store.load_record, summit.summit_id)

                async def persist(course: Course, kind: str, detail: dict[str, Any]) -> None:
                    await asyncio.to_thread(self.store.save_course, summit.summit_id, course, kind, detail)

                room = self.rooms[summit.summit_id] = Room(
                    summit,
                    self.media,
                    course,
                    persist,
                    links=self,
                    removed=[i.invitation_id for i in invitations if i.removed],
                    revoked=[i.invitation_id for i in invitations if i.revoked],
                    kept=[Keep(kind, owner, text) for kind, owner, text in kept],
                    keep=functools.partial(self.keep_document, summit.summit_id),
                    record=record,
                    keep_record=functools.partial(self.keep_record, summit.summit_id),
                )
            return room

    # The room's Links: what the host does to a link outlives the room and a restart.

    async def mark_removed(self, invitation_id: str, removed: bool) -> None:
        await asyncio.to_thread(self.store.mark_removed, invitation_id, removed)

    async def revoke(self, invitation_id: str) -> None:
        await asyncio.to_thread(self.store.revoke_invitation, invitation_id)

    async def keep_record(self, summit_id: str, change: RecordChange) -> None:
        """An entry, a grant or the state of a room's record, committed before anyone is told."""
        await asyncio.to_thread(self.store.keep_record, summit_id, change.entry, change.grant, change.state)

    async def keep_document(self, summit_id: str, keep: Keep) -> None:
        """A room's identity document, on disk before anyone is told of it."""
        await asyncio.to_thread(self.store.keep_document, summit_id, keep.kind, keep.owner, keep.text)

    async def revoke_invitation(self, invitation: Invitation) -> int:
        """The organiser revokes a link: stored first (so a room opened from now on knows it), then
        every device of it leaves the summit's live call at once. Returns how many left."""
        async with self._lock:  # no room opens between the store's change and the live one
            await self.revoke(invitation.invitation_id)
            room = self.rooms.get(invitation.summit_id)
        return await room.revoked_link(invitation.invitation_id, "organiser") if room else 0

    async def release(self, room: Room) -> None:
        async with self._lock:
            if room.empty and self.rooms.get(room.summit.summit_id) is room:
                del self.rooms[room.summit.summit_id]
                await room.close()

    async def media_reset(self) -> None:
        """Janus restarted: every room reopens its media and asks its devices to publish again."""
        for room in list(self.rooms.values()):
            await room.media_reset()


# -- HTTP models --------------------------------------------------------------------------------


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DelegationIn(_In):
    name: Annotated[str, Field(min_length=1, max_length=120)]
    working_language: Language
    # The fingerprint of the delegation's key (30 digits), as its officer read it to the
    # organiser: a summit whose delegations are pinned admits only certified devices.
    pin: FingerprintText | None = None


class SummitIn(_In):
    title: Annotated[str, Field(min_length=1, max_length=200)]
    scheduled_start: datetime
    duration_minutes: Annotated[int, Field(ge=1, le=24 * 60)]
    delegations: Annotated[list[DelegationIn], Field(min_length=1, max_length=16)]
    admission: Admission = Admission.HOST
    at_end: AtEnd = AtEnd.HARD_STOP
    languages: Annotated[list[Language], Field(max_length=MAX_LANGUAGES)] = []
    ducking: Annotated[float, Field(ge=0, le=1)] = DEFAULT_DUCKING

    @field_validator("languages")
    @classmethod
    def _channels(cls, languages: list[str]) -> list[str]:
        return list(check_languages(languages))

    @model_validator(mode="after")
    def _pins(self) -> SummitIn:
        pins = {d.name: d.pin for d in self.delegations if d.pin is not None}
        kept = check_pins([d.name for d in self.delegations], pins)
        for d in self.delegations:
            d.pin = kept.get(d.name)
        return self


class DelegationOut(BaseModel):
    delegation_id: str
    name: str
    working_language: str
    pin: str | None


class SummitOut(BaseModel):
    summit_id: str
    title: str
    scheduled_start: datetime
    duration_minutes: int
    delegations: list[DelegationOut]
    admission: Admission
    at_end: AtEnd
    languages: list[str]
    ducking: float


class InvitationIn(_In):
    delegation_id: Annotated[str, Field(min_length=1, max_length=32)]
    role: Role
    valid_hours: Annotated[int, Field(ge=1, le=MAX_INVITATION_HOURS)] = 72
    language: Language | None = None  # an interpreter's channel
    # Devices present at once on this link; more than one for a link meant to be shared.
    max_devices: Annotated[int, Field(ge=1, le=MAX_DEVICES_PER_INVITATION)] = 1


class InvitationOut(BaseModel):
    invitation_id: str
    delegation: str
    role: Role
    expires_at: datetime
    link: str
    language: str | None
    max_devices: int


class InvitationState(BaseModel):
    """An invitation as an organiser lists it (never its link: that was handed out once)."""

    invitation_id: str
    delegation: str
    role: Role
    language: str | None
    expires_at: datetime
    revoked: bool
    removed: bool  # the host removed a device of it: its next device waits for the host


class Revocation(BaseModel):
    invitation: InvitationState
    devices_removed: int  # devices of this link that were in the call or the lobby


class InvitationCheckIn(_In):
    summit_id: Annotated[str, Field(min_length=1, max_length=32)]
    token: Annotated[str, Field(min_length=1, max_length=1024)]


class InvitationCheck(BaseModel):
    summit: str
    delegation: str
    role: Role
    language: str | None
    scheduled_start: datetime
    duration_minutes: int


def _invitation_state(summit: Summit, invitation: Invitation) -> InvitationState:
    delegation = summit.delegation(invitation.delegation_id)
    return InvitationState(
        invitation_id=invitation.invitation_id,
        delegation=delegation.name if delegation else invitation.delegation_id,
        role=invitation.role,
        language=invitation.language,
        expires_at=invitation.expires_at,
        revoked=invitation.revoked,
        removed=invitation.removed,
    )


def sealed_record(store: Store, summit_id: str) -> SealedRecord:
    """The summit's record as the store keeps it, with the documents a delegation needs to check
    it offline: the signer lists, the pin sets, every certificate."""
    documents = store.documents(summit_id)

    def kept(kind: str) -> tuple[str, ...]:
        return tuple(text for k, _, text in documents if k == kind)

    record = store.load_record(summit_id, kept(SIGNER_LIST))
    return SealedRecord(
        summit_id=summit_id,
        state=record.state.value,
        entries=tuple(SealedEntry(e.entry, e.ciphertext, e.certificate) for e in record.entries),
        grants=record.grants,
        signer_lists=record.signer_lists,
        pin_sets=kept(DocumentKind.PIN_SET),
        certificates=kept(DocumentKind.CERTIFICATE),
    )


def _summit_out(summit: Summit) -> SummitOut:
    return SummitOut(
        summit_id=summit.summit_id,
        title=summit.title,
        scheduled_start=summit.scheduled_start,
        duration_minutes=summit.duration_minutes,
        delegations=[
            DelegationOut(
                delegation_id=d.delegation_id, name=d.name, working_language=d.working_language, pin=d.pin
            )
            for d in summit.delegations
        ],
        admission=summit.admission,
        at_end=summit.at_end,
        languages=list(summit.languages),
        ducking=summit.ducking,
    )


class _Socket:
    """Starlette's WebSocket as the signalling connection sees it."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws

    async def receive(self) -> str | bytes | None:
        try:
            message = await self.ws.receive()
        except (WebSocketDisconnect, RuntimeError):
            return None
        if message["type"] == "websocket.disconnect":
            return None
        text: str | None = message.get("text")
        return text if text is not None else message.get("bytes")

    async def send_text(self, data: str) -> None:
        await self.ws.send_text(data)

    async def send_bytes(self, data: bytes) -> None:
        await self.ws.send_bytes(data)

    async def close(self, code: int, reason: str) -> None:
        if self.ws.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError):  # closed under us by the client
                await self.ws.close(code, reason)


def create_app(
    state: ServerState, admin_token: str, origins: BrowserOrigins, web_dir: Path | None = None
) -> FastAPI:
    app = FastAPI(
        title="Parley",
        version="1",
        description="End-to-end encrypted summits. Organiser endpoints need `Authorization: Bearer <token>`.",
    )

    def admin_only(authorization: Annotated[str, Header()] = "") -> None:
        expected = f"Bearer {admin_token}"
        if not secrets.compare_digest(authorization.encode(), expected.encode()):
            raise HTTPException(401, "organiser endpoints need the admin token (see the data directory)")

    # As a route dependency, not a parameter: it runs before the body is even looked at.
    admin = [Depends(admin_only)]

    @app.get("/api/health")
    async def health() -> dict[str, Any]:
        return {"ok": True, "rooms": len(state.rooms)}

    @app.post("/api/summits", status_code=201, dependencies=admin)
    def create_summit(body: SummitIn) -> SummitOut:
        start = (
            body.scheduled_start if body.scheduled_start.tzinfo else body.scheduled_start.replace(tzinfo=UTC)
        )
        delegations = [(d.name, d.working_language) for d in body.delegations]
        summit = state.store.create_summit(
            body.title,
            start,
            body.duration_minutes,
            delegations,
            body.admission,
            body.at_end,
            body.languages,
            body.ducking,
            {d.name: d.pin for d in body.delegations if d.pin is not None},
        )
        return _summit_out(summit)

    @app.get("/api/summits", dependencies=admin)
    def list_summits() -> list[SummitOut]:
        return [_summit_out(s) for s in state.store.list_summits()]

    @app.get("/api/summits/{summit_id}", dependencies=admin)
    def get_summit(summit_id: str) -> SummitOut:
        summit = state.store.get_summit(summit_id)
        if summit is None:
            raise HTTPException(404, "no such summit")
        return _summit_out(summit)

    @app.get("/api/summits/{summit_id}/record", dependencies=admin)
    def get_record(summit_id: Annotated[str, UrlPath(max_length=32)]) -> Response:
        """The sealed record (parley.record.sealed): ciphertext, signatures and grants, which only
        a delegation's key opens (`parley record open`)."""
        summit = state.store.get_summit(summit_id)
        if summit is None:
            raise HTTPException(404, "no such summit")
        if not summit.pins:
            raise HTTPException(404, "this summit keeps no record: its delegations' keys are not pinned")
        return Response(sealed_record(state.store, summit_id).to_json(), media_type="application/json")

    @app.post("/api/summits/{summit_id}/invitations", status_code=201, dependencies=admin)
    def create_invitation(summit_id: str, body: InvitationIn) -> InvitationOut:
        summit = state.store.get_summit(summit_id)
        if summit is None:
            raise HTTPException(404, "no such summit")
        delegation = summit.delegation(body.delegation_id)
        if delegation is None:
            raise HTTPException(422, "no such delegation in this summit")
        valid_for = timedelta(hours=body.valid_hours)
        try:
            invitation, link = state.organiser.invite(
                summit, delegation.delegation_id, body.role, valid_for, body.language, body.max_devices
            )
        except ValueError as e:
            raise HTTPException(422, str(e)) from None
        return InvitationOut(
            invitation_id=invitation.invitation_id,
            delegation=delegation.name,
            role=invitation.role,
            expires_at=invitation.expires_at,
            link=link,
            language=invitation.language,
            max_devices=invitation.max_devices,
        )

    @app.get("/api/summits/{summit_id}/invitations", dependencies=admin)
    def list_invitations(summit_id: str) -> list[InvitationState]:
        summit = state.store.get_summit(summit_id)
        if summit is None:
            raise HTTPException(404, "no such summit")
        return [_invitation_state(summit, i) for i in state.store.list_invitations(summit_id)]

    @app.post("/api/invitations/{invitation_id}/revoke", dependencies=admin)
    async def revoke_invitation(invitation_id: Annotated[str, UrlPath(max_length=32)]) -> Revocation:
        """The link admits no one any more, and its devices leave the call and the lobby now."""
        invitation = await asyncio.to_thread(state.store.get_invitation, invitation_id)
        summit = await state.summit_for(invitation.summit_id) if invitation else None
        if invitation is None or summit is None:
            raise HTTPException(404, "no such invitation")
        removed = await state.revoke_invitation(invitation)
        return Revocation(
            invitation=_invitation_state(summit, replace(invitation, revoked=True, removed=False)),
            devices_removed=removed,
        )

    @app.post("/api/invitations/check")
    async def check_invitation(body: InvitationCheckIn) -> InvitationCheck:
        """What an invite link admits to, for the join page: what identify would admit it to, or
        why not (403). The token travels in the body, not the URL."""
        try:
            entry = await state.admit(body.token, body.summit_id)
        except InvitationError as e:
            raise HTTPException(403, str(e)) from None
        return InvitationCheck(
            summit=entry.summit.title,
            delegation=entry.delegation.name,
            role=entry.role,
            language=entry.language,
            scheduled_start=entry.summit.scheduled_start,
            duration_minutes=entry.summit.duration_minutes,
        )

    @app.websocket("/api/summits/{summit_id}/ws")
    async def signaling(ws: WebSocket, summit_id: str) -> None:
        if not origins.may_connect(ws.headers.get("origin")):
            await ws.close(4003, "this origin may not connect")  # before accept: HTTP 403
            return
        address = ws.client.host if ws.client else ""
        await ws.accept()
        socket = _Socket(ws)
        limited = state.limits.connect(address, time.monotonic())
        if limited is not None:  # accepted only to say why, in the protocol's own words
            await socket.send_text(
                encode(error_op(ParleyError(ErrorCode.RATE_LIMITED, limited.message), None))
            )
            await socket.close(CloseCode.RATE_LIMITED, "rate_limited")
            return
        await SignalingConnection(socket, state, summit_id, address).run()

    app.add_middleware(ClientCors, origins=origins)
    app.add_middleware(SecurityHeaders)
    mount_web_client(app, web_dir or default_web_dir())  # last: its static files sit under "/"
    return app

"""The SDK's side of the record (docs/record.md): a verified copy of the log, the record key, and
the entries this device writes.

`RecordDesk` sits between the socket and the sans-IO parts (`parley.record.rules`, `.view`): it
turns the record ops the server relays into documents, feeds them to its `RecordView` in log
order (the log read page by page on admission, the entries relayed meanwhile held back until
it has caught up), and raises the view's alarms through the client. It trusts a certificate only
if it is signed by the key its own delegation pinned for the certificate's delegation (`pins`,
from the pin set this device verified), and a grant of the record key only if a certified
member signed it.

The record key: the first reader that finds the record without one makes it and grants it to
itself (the server fixes the key with the first grant it takes; a device that lost that race
drops its key and waits for its grant). Every holder grants it to the readers and the pinned
delegations that `record_state` says hold none, the delegations so that each can open the whole
record later with its key file (`parley record export --key`).

Writing: an entry is made at the end of the log as this copy knows it; `record_conflict` (the log
moved on meanwhile) means: wait for the entries that came, and write it again there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar

from cryptography.hazmat.primitives.asymmetric import ec

from parley.identity.attestation import DeviceSigner
from parley.identity.certificate import DeviceCertificate, verify_certificate
from parley.identity.fingerprint import Fingerprint
from parley.identity.revocation import RevocationBook
from parley.protocol.codes import ErrorCode, RecordState
from parley.protocol.device_ops import (
    DeviceOp,
    RecordAppend,
    RecordAppendData,
    RecordGrant,
    RecordGrantData,
    RecordHead,
    RecordHeadData,
    RecordRead,
    RecordReadData,
)
from parley.protocol.fields import b64url, unb64url
from parley.protocol.server_ops import (
    OkOp,
    ParleyServerOp,
    RecordEntriesOp,
    RecordEntryData,
    RecordEntryOp,
    RecordGrantOp,
    RecordHeadOp,
    RecordOp,
    RecordStateData,
    RecordStateOp,
    SignersOp,
)
from parley.protocol.vocabulary import Role
from parley.record.entry import ZERO32, EntryKind, RecordEntry, write_entry
from parley.record.head import RecordHead as SignedHead
from parley.record.head import sign_head
from parley.record.keys import (
    RecipientKind,
    RecordKey,
    encrypt_statement,
    grant_to_delegation,
    grant_to_device,
    open_device_grant,
)
from parley.record.keys import RecordGrant as GrantDocument
from parley.record.readout import export_readout
from parley.record.rules import RecordRules, Standing
from parley.record.signers import SignerList, is_signer
from parley.record.statement import Statement
from parley.record.view import RecordAlarm, RecordView
from parley.sdk.requests import Disconnected, RequestRefused, RequestTimeout

log = logging.getLogger(__name__)

Answer = TypeVar("Answer", bound=ParleyServerOp)
HEAD_DELAY = 0.2  # s: heads are sent once a burst of entries has passed, not once per entry
APPEND_ATTEMPTS = 20  # a busy record: other signers' entries may take a place this many times


class Requester(Protocol):
    async def request(self, op: DeviceOp, answer: type[Answer]) -> Answer: ...


class RecordError(Exception):
    """This device cannot write what was asked (not a signer, no such outcome, the record sealed)."""


class RecordDesk:
    def __init__(
        self,
        *,
        client: Requester,
        spawn: Callable[[Coroutine[Any, Any, None], str], object],
        summit_id: str,
        user_id: int,
        pins: Mapping[str, Fingerprint],
        revocations: RevocationBook,
        certificate: DeviceCertificate,
        private_key: ec.EllipticCurvePrivateKey,
        sign: DeviceSigner,
        epoch: Callable[[], int],
        certificates: Callable[[], list[DeviceCertificate]],
        on_alarm: Callable[[RecordAlarm], None],
        wake: Callable[[], None],
        copy: Path | None = None,
    ) -> None:
        """`certificates`: every certificate this device holds (the server relays them); `epoch`:
        the DAVE epoch it is in now; `wake`: called when `deadline()` may have moved other than
        in `on_op` (a page of the log read), so that the caller's timer calls `tick` in time;
        `copy`: where this device keeps its own copy of the record (the readout, owner-only),
        rewritten after every burst of entries."""
        self.client = client
        self._spawn = spawn
        self.summit_id = summit_id
        self.user_id = user_id
        self.certificate = certificate
        self._private_key = private_key
        self._sign = sign
        self._epoch = epoch
        self._certificates = certificates
        self._on_alarm = on_alarm
        self._wake = wake
        self.copy = copy
        self.rules = RecordRules(summit_id, set(pins), pins=pins, revocations=revocations)
        self.view = RecordView(self.rules)
        self.state: RecordStateData | None = None
        self.refused: list[str] = []  # documents relayed that were refused, and why
        self._caught_up = False
        self._reading = False
        self._held: list[RecordEntryData] = []  # relayed while reading the log
        self._made: RecordKey | None = None  # a key this device made, until the server took it
        self._granting: set[str] = set()
        self._head_task: object | None = None
        self.changed = asyncio.Event()  # set on every entry taken in and every state

    # -- what it holds ---------------------------------------------------------------------------

    @property
    def key(self) -> RecordKey | None:
        return self.view.key

    @property
    def signer(self) -> bool:
        lists = {s.issuer: s for s in self.rules.signer_lists.values()}
        return is_signer(self.certificate, lists)

    @property
    def delegation(self) -> str:
        return self.certificate.claim.delegation

    @property
    def sealed(self) -> bool:
        return self.rules.sealed

    def statements(self) -> dict[int, Statement]:
        return self.view.statements()

    def standing(self) -> dict[int, Standing]:
        return self.rules.standing()

    def entry(self, seq: int) -> RecordEntry:
        return self.rules.log[seq]

    def awaiting(self) -> list[int]:
        """Outcomes of other delegations this device's delegation has neither signed nor declined."""
        mine = self.delegation
        return [
            seq
            for seq, s in self.standing().items()
            if s.kind is EntryKind.OUTCOME
            and s.by != mine
            and mine not in s.agreed_by
            and mine not in (d for d, _ in s.declined_by)
        ]

    def export(self) -> bytes:
        """The readout of the record as this device holds it (canonical JSON, docs/record.md)."""
        return export_readout(self.rules, self.view.statements(), self.delegation)

    # -- from the server -------------------------------------------------------------------------

    def on_op(self, op: RecordOp, now: float) -> None:
        try:
            if isinstance(op, RecordStateOp):
                self._on_state(op.d)
            elif isinstance(op, RecordEntryOp):
                if self._caught_up:
                    self._take(op.d, now)
                else:
                    self._held.append(op.d)
            elif isinstance(op, RecordGrantOp):
                self._on_grant(GrantDocument.from_text(op.d.grant))
            elif isinstance(op, RecordHeadOp):
                self._on_head(op.d.user_id, SignedHead.from_text(op.d.head), now)
            elif isinstance(op, SignersOp):
                self.rules.add_signer_list(SignerList.from_text(op.d.signer_list))
        except ValueError as e:  # IdentityError is one
            self.refused.append(f"{op.op}: {e}")
            log.warning("refused a %s relayed by the server: %s", op.op, e)
        self.changed.set()

    def tick(self, now: float) -> None:
        self._alarms(self.view.tick(now))

    def deadline(self) -> float | None:
        return self.view.deadline()

    def _on_state(self, state: RecordStateData) -> None:
        self.state = state
        if not self._reading and not self._caught_up:
            self._reading = True
            self._spawn(self._catch_up(), "parley-record-read")
        if state.key_id == "" and self.key is None and self._made is None:
            self._made = RecordKey.new()
            self._spawn(self._grant(self._made, self.certificate.claim.device_key, None), "parley-record-key")
        elif self._made is not None and state.key_id not in ("", b64url(self._made.key_id)):
            self._made = None  # another device's key was taken first: its grant comes
        if self.key is not None:
            self._grant_missing(state)
        if state.state is RecordState.CLOSED and self._caught_up:
            self._seal_if_due()

    def _on_grant(self, grant: GrantDocument) -> None:
        granter = self._held_certificate(grant.granter)
        if granter is None or not grant.verify(granter.claim.device_key):
            raise ValueError("a grant of the record key not signed by a certified member")
        if (
            grant.recipient_kind is not RecipientKind.DEVICE
            or grant.recipient != self.certificate.claim.device_key
        ):
            raise ValueError("a grant of the record key for another recipient")
        key = open_device_grant(grant, self._private_key)
        if self.key is not None and self.key.key_id != key.key_id:
            raise ValueError("a second, different record key")
        if self.key is None:
            self._alarms(self.view.set_key(key))
            self._made = None
            if self.state is not None:
                self._grant_missing(self.state)

    def _on_head(self, user_id: int, head: SignedHead, now: float) -> None:
        if head.user_id != user_id:
            raise ValueError(f"user {head.user_id}'s head relayed as user {user_id}'s")
        member = next((c for c in self._good_certificates() if c.claim.user_id == user_id), None)
        if member is None:
            raise ValueError(f"a head from user {user_id}, who has no good certificate here")
        self._alarms(self.view.receive_head(head, member.claim.device_key, now))

    # -- the log -----------------------------------------------------------------------------------

    async def _catch_up(self) -> None:
        """Read the log from the start, page by page, then take what was relayed meanwhile."""
        try:
            await self._read_log()
        except Disconnected:
            return
        except (RequestRefused, RequestTimeout) as e:  # read again at the next state
            log.warning("could not read the record: %s (%s)", e, e.code)
            self._reading = False

    async def _read_log(self) -> None:
        length = 0
        while True:
            page = await self.client.request(RecordRead(d=RecordReadData(from_seq=length)), RecordEntriesOp)
            now = time.time()
            for data in page.d.entries:
                self._take(data, now)
            self._wake()
            length += len(page.d.entries)
            if not page.d.entries or length >= page.d.length:
                break
        held, self._held = self._held, []
        self._caught_up = True
        for data in held:
            self._take(data, time.time())
        self._reading = False
        self._send_head()
        if self.state is not None and self.state.state is RecordState.CLOSED:
            self._seal_if_due()
        self.changed.set()

    def _take(self, data: RecordEntryData, now: float) -> None:
        try:
            certificate = DeviceCertificate.from_text(data.certificate)
            if certificate.serial not in self.rules.certificates:
                self.rules.add_certificate(certificate)
            entry = RecordEntry.from_text(data.entry)
            ciphertext = unb64url(data.ciphertext) if data.ciphertext else b""
        except ValueError as e:
            self.refused.append(f"record entry: {e}")
            log.warning("refused a record entry relayed by the server: %s", e)
            return
        before = len(self.rules.log)
        self._alarms(self.view.receive_entry(entry, ciphertext, now))
        if len(self.rules.log) > before and self._caught_up:
            self._send_head()
            if self.state is not None and self.state.state is RecordState.CLOSED:
                self._seal_if_due()

    def _send_head(self) -> None:
        """After a burst of entries: this device's signed head, to every reader."""
        if self._head_task is None:
            self._head_task = self._spawn(self._head_later(), "parley-record-head")

    async def _head_later(self) -> None:
        await asyncio.sleep(HEAD_DELAY)
        self._head_task = None
        head = sign_head(self._sign, self.summit_id, len(self.rules.log), self.rules.head, self.user_id)
        # A head refused, late or cut off by a departure is only one fewer comparison.
        self._keep_copy()
        with contextlib.suppress(RequestRefused, RequestTimeout, Disconnected):
            await self.client.request(RecordHead(d=RecordHeadData(head=head.to_text())), OkOp)

    def _keep_copy(self) -> None:
        """This device's own copy: the readout of what it verified, so that nothing depends on the
        server keeping the record (written whole, then put in place: never half a file)."""
        if self.copy is None or self.key is None:
            return
        try:
            readout = self.export()
        except ValueError as e:  # a text not decrypted (its entry altered): the last good copy stays
            log.warning("the record's copy was not rewritten: %s", e)
            return
        partial = self.copy.with_name(self.copy.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(readout)
        os.replace(partial, self.copy)

    def _alarms(self, alarms: list[RecordAlarm]) -> None:
        for alarm in alarms:
            self._on_alarm(alarm)

    # -- the record key ------------------------------------------------------------------------

    def _good_certificates(self) -> list[DeviceCertificate]:
        """The certificates held that are signed by the key pinned for their delegation and good now."""
        good = []
        now = time.time()
        for certificate in self._certificates():
            try:
                verify_certificate(certificate, self.summit_id, now, self.rules.revocations)
            except ValueError:
                continue
            if self.rules.pins is not None and self.rules.pins.get(
                certificate.claim.delegation
            ) == Fingerprint.of(certificate.issuer):
                good.append(certificate)
        return good

    def _held_certificate(self, serial: bytes) -> DeviceCertificate | None:
        return next((c for c in self._good_certificates() if c.serial == serial), None)

    def _grant_missing(self, state: RecordStateData) -> None:
        good = self._good_certificates()
        for user_id in state.ungranted_devices:
            member = next((c for c in good if c.claim.user_id == user_id), None)
            if member is not None and member.claim.role is not Role.PRESS:
                self._grant_once(member.claim.device_key, None)
        for name in state.ungranted_delegations:
            issuer = next((c.issuer for c in good if c.claim.delegation == name), None)
            if issuer is not None:
                self._grant_once(None, issuer)

    def _grant_once(self, device_key: bytes | None, delegation_key: bytes | None) -> None:
        assert self.key is not None
        tag = b64url(device_key or delegation_key or b"")
        if tag in self._granting:
            return
        self._granting.add(tag)
        self._spawn(self._grant(self.key, device_key, delegation_key), "parley-record-grant")

    async def _grant(self, key: RecordKey, device_key: bytes | None, delegation_key: bytes | None) -> None:
        serial = self.certificate.serial
        if device_key is not None:
            grant = grant_to_device(key, device_key, self._sign, serial, self.summit_id)
        else:
            assert delegation_key is not None
            grant = grant_to_delegation(key, delegation_key, self._sign, serial, self.summit_id)
        try:
            await self.client.request(RecordGrant(d=RecordGrantData(grant=grant.to_text())), OkOp)
        except Disconnected:
            return
        except (RequestRefused, RequestTimeout) as e:
            log.info("the server did not take a grant of the record key: %s (%s)", e, e.code)
            self._granting.discard(b64url(device_key or delegation_key or b""))

    # -- writing -------------------------------------------------------------------------------

    async def position(self, text: str) -> int:
        """This delegation's position: the seq of its entry."""
        return await self._write(EntryKind.POSITION, Statement.new(text))

    async def propose(self, text: str, amends: int | None = None) -> int:
        """An outcome for every delegation to sign (this one's signature is the proposal itself)."""
        refers = ZERO32 if amends is None else self._outcome(amends).hash()
        return await self._write(EntryKind.OUTCOME, Statement.new(text), refers)

    async def action(self, what: str, owner: str, due: str) -> int:
        return await self._write(EntryKind.ACTION, Statement.new(what, owner=owner, due=due))

    async def sign(self, outcome: int) -> int:
        """Sign another delegation's outcome: the very bytes its entry commits to."""
        return await self._write(EntryKind.SIGN, None, self._outcome(outcome).hash())

    async def decline(self, outcome: int, reason: str) -> int:
        return await self._write(EntryKind.DECLINE, Statement.new(reason), self._outcome(outcome).hash())

    async def seal(self) -> int:
        """This delegation's seal of the log's head (the record must be closed)."""
        head = self.rules.sealed_head or self.rules.head
        return await self._write(EntryKind.SEAL, None, head)

    def _outcome(self, seq: int) -> RecordEntry:
        if not 0 <= seq < len(self.rules.log) or self.rules.log[seq].kind is not EntryKind.OUTCOME:
            raise RecordError(f"entry {seq} is no outcome of this record")
        return self.rules.log[seq]

    def _seal_if_due(self) -> None:
        if self.signer and self.delegation not in self.rules.sealed_by and self.key is not None:
            self._spawn(self._auto_seal(), "parley-record-seal")

    async def _auto_seal(self) -> None:
        if self.delegation in self.rules.sealed_by:
            return
        try:
            await self.seal()
        except Disconnected as e:  # a device that comes back finds the record closed and seals then
            log.info("the connection closed before this device's seal was answered: %s", e)
        except (RequestRefused, RecordError, TimeoutError) as e:  # another signer of it sealed first
            log.info("this device's seal was not taken: %s", e)

    async def wait(self, ready: Callable[[], bool], timeout: float = 10.0) -> None:
        """Until `ready()` holds (checked on every change), or TimeoutError."""
        async with asyncio.timeout(timeout):
            while not ready():
                self.changed.clear()
                await self.changed.wait()

    async def _grown_past(self, seq: int) -> None:
        await self.wait(lambda: len(self.rules.log) > seq)

    async def _write(self, kind: EntryKind, statement: Statement | None, refers: bytes = ZERO32) -> int:
        if not self.signer:
            raise RecordError("this device is not a signer of its delegation: it cannot write in the record")
        await self.wait(lambda: self._caught_up and self.key is not None)
        for _ in range(APPEND_ATTEMPTS):
            key = self.key
            assert key is not None
            seq, prev = len(self.rules.log), self.rules.head
            entry = write_entry(
                self._sign,
                summit_id=self.summit_id,
                seq=seq,
                prev=prev,
                kind=kind,
                refers=refers,
                commitment=statement.commitment() if statement else ZERO32,
                key_id=key.key_id,
                epoch=self._epoch(),
                time=int(time.time() * 1000),
                signer=self.certificate.serial,
            )
            ciphertext = b64url(encrypt_statement(key, statement)) if statement else ""
            try:
                await self.client.request(
                    RecordAppend(d=RecordAppendData(entry=entry.to_text(), ciphertext=ciphertext)), OkOp
                )
            except RequestRefused as e:
                if e.code is not ErrorCode.RECORD_CONFLICT:
                    raise
                await self._grown_past(seq)  # the entries that took the place
                continue
            # The entry was relayed to this device before the `ok` (one socket, in order).
            await self._grown_past(seq)
            if self.rules.log[seq].hash() != entry.hash():
                raise RecordError(f"entry {seq} in this copy is not the one this device wrote")
            return seq
        raise RecordError(f"the record kept moving: {APPEND_ATTEMPTS} attempts to write were overtaken")

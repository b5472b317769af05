"""The server's part in the record (docs/record.md): keep the log, in order, on disk before anyone
hears of an entry, and relay it; hold the grants of the record key; never read a text.

Sans-IO, beside `parley.server.identity_relay` (the room policy owns one of each and turns what
this returns into effects). The server checks every entry against the record's rules
(`parley.record.rules`, the same code every client runs) so that an honest server refuses a
broken entry with a clear error instead of storing it for every client to raise an alarm over;
no client trusts it for that.

The readers are the certified devices in the call that are not press: they get the whole log on
admission, then each entry kept. The record key is fixed by the first grant the server accepts;
the state says which readers and which pinned delegations hold no grant yet, so that a holder of
the key grants it to them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from parley.identity.certificate import DeviceCertificate
from parley.identity.fingerprint import Fingerprint
from parley.protocol.codes import ErrorCode, RecordState
from parley.protocol.errors import PolicyError
from parley.protocol.fields import b64url
from parley.protocol.server_ops import (
    RecordEntriesData,
    RecordEntriesOp,
    RecordEntryData,
    RecordEntryOp,
    RecordGrantData,
    RecordGrantOp,
    RecordHeadFromData,
    RecordHeadOp,
    RecordOp,
    RecordStateData,
    RecordStateOp,
    SignerListData,
    SignersOp,
)
from parley.protocol.vocabulary import Role
from parley.record.entry import EntryKind, RecordEntry
from parley.record.head import RecordHead
from parley.record.keys import RecipientKind, RecordGrant
from parley.record.rules import RecordError, RecordRules
from parley.record.signers import SignerList
from parley.server.attendee import Attendee
from parley.server.identity_relay import read_document
from parley.server.rate_limit import PerDevice
from parley.store.kept_record import NO_RECORD, KeptEntry, KeptRecord
from parley.summit.model import Summit

# A member sends its head after each burst of entries it accepts; more than this is refused.
HEADS_PER_WINDOW = 20
HEAD_WINDOW = 2.0  # s
# Every entry is relayed to every reader: a signer writing more than this (people write a few a
# minute; a program retrying after conflicts, a few a second) would only fill the readers' outboxes.
ENTRIES_PER_WINDOW = 100
ENTRY_WINDOW = 2.0  # s
MAX_ENTRIES = 100_000  # a summit's record; a day of talks writes a few hundred
# The texts one `record_entries` page holds: with its JSON, well within a frame (MAX_TEXT_FRAME).
PAGE_TEXT = 40 * 1024
SIGNER_LIST = "signers"  # the identity documents' kind for a delegation's signer list (owner: its id)


@dataclass(frozen=True)
class RecordChange:
    """What the room must store (in this order, before sending anything) and send."""

    entry: KeptEntry | None = None
    grant: tuple[str, str] | None = None  # a new grant: (its recipient's key in base64url, its text)
    state: RecordState | None = None


@dataclass(frozen=True)
class RecordRelayed:
    keep: RecordChange
    deliveries: list[tuple[int, RecordOp]]


def _refuse(e: RecordError) -> PolicyError:
    return PolicyError(ErrorCode.RECORD_REFUSED, f"{e.problem.value}: {e}")


class RecordRelay:
    def __init__(self, summit: Summit, kept: KeptRecord = NO_RECORD) -> None:
        self.summit = summit
        self.pins = {name: Fingerprint.parse(pin) for name, pin in summit.pins.items()}
        self.rules = RecordRules(summit.summit_id, set(self.pins), pins=self.pins)
        self.entries: list[KeptEntry] = []
        self.state = kept.state
        self.key_id: bytes | None = None
        self.grants: dict[bytes, str] = {}  # by recipient key
        self.signer_lists: dict[str, SignerList] = {}  # by delegation name
        self.heads = PerDevice(HEADS_PER_WINDOW, HEAD_WINDOW)
        self.appends = PerDevice(ENTRIES_PER_WINDOW, ENTRY_WINDOW)
        for text in kept.signer_lists:
            signer_list = SignerList.from_text(text)
            self.rules.add_signer_list(signer_list)
            self.signer_lists[signer_list.delegation] = signer_list
        for kept_entry in kept.entries:
            # The server's own store: read back as written, checked when it was accepted.
            self.rules.add_certificate(DeviceCertificate.from_text(kept_entry.certificate))
            self.rules.append(RecordEntry.from_text(kept_entry.entry))
            self.entries.append(kept_entry)
        for text in kept.grants:
            grant = RecordGrant.from_text(text)
            self.key_id = grant.key_id
            self.grants[grant.recipient] = text

    @property
    def kept(self) -> bool:
        """A record is kept only in a certified summit: its entries are signed by certified devices."""
        return bool(self.pins)

    def is_reader(self, device: Attendee, certificate: DeviceCertificate | None) -> bool:
        return self.kept and certificate is not None and device.role is not Role.PRESS

    def _require(self) -> None:
        if not self.kept:
            raise PolicyError(
                ErrorCode.NO_RECORD, "this summit keeps no record: its delegations' keys are not pinned"
            )

    @staticmethod
    def _signer(by: Attendee, certificate: DeviceCertificate | None) -> DeviceCertificate:
        if certificate is None or by.role is Role.PRESS:
            raise PolicyError(
                ErrorCode.FORBIDDEN, "only certified members of the call take part in the record"
            )
        return certificate

    # -- entries ----------------------------------------------------------------------------------

    def append(
        self,
        by: Attendee,
        certificate: DeviceCertificate | None,
        entry_text: str,
        ciphertext: str,
        readers: Iterable[int],
        now: float,
    ) -> RecordRelayed:
        """A signer's entry at the end of the log: checked, then kept and sent to every reader; at
        most ENTRIES_PER_WINDOW taken per device in ENTRY_WINDOW seconds (`now`: monotonic)."""
        self._require()
        signer = self._signer(by, certificate)
        entry = read_document(RecordEntry, entry_text, "the entry")
        if entry.signer != signer.serial:
            raise PolicyError(ErrorCode.FORBIDDEN, "a device appends the entries it signs itself")
        if self.key_id is None:
            raise PolicyError(ErrorCode.RECORD_CONFLICT, "the record has no key yet: grant one first")
        if len(self.entries) >= MAX_ENTRIES:
            raise PolicyError(ErrorCode.RECORD_REFUSED, f"a record holds at most {MAX_ENTRIES} entries")
        if (ciphertext != "") != entry.kind.has_text:
            raise PolicyError(
                ErrorCode.INVALID,
                f"a {entry.kind.name.lower()} entry carries its text if it has one, and only then",
            )
        if entry.seq != len(self.entries):
            raise PolicyError(
                ErrorCode.RECORD_CONFLICT,
                f"the log holds {len(self.entries)} entries: entry {entry.seq} is not next;"
                " read the log and try again",
            )
        if self.state is RecordState.SEALED:
            raise PolicyError(
                ErrorCode.RECORD_REFUSED, "sealed: the record is sealed; it takes no more entries"
            )
        if self.state is RecordState.CLOSED and entry.kind is not EntryKind.SEAL:
            raise PolicyError(
                ErrorCode.RECORD_REFUSED, "sealed: the record is closed; it takes only its seals"
            )
        try:
            self.rules.add_certificate(signer)
            self.rules.check(entry, self.key_id, closed=self.state is not RecordState.OPEN)
        except RecordError as e:
            raise _refuse(e) from None
        except ValueError as e:  # the certificate: the server holds only good ones, but says so
            raise PolicyError(ErrorCode.INVALID, f"the signer's certificate is refused: {e}") from None
        if not self.appends.take(by.user_id, now):
            raise PolicyError(
                ErrorCode.RATE_LIMITED, f"at most {ENTRIES_PER_WINDOW} entries in {ENTRY_WINDOW:.0f} s"
            )
        self.rules.append(entry)
        kept = KeptEntry(entry.seq, entry_text, ciphertext, signer.to_text())
        self.entries.append(kept)
        op = _entry_op(kept)
        deliveries: list[tuple[int, RecordOp]] = [(user_id, op) for user_id in readers]
        state = None
        if entry.kind is EntryKind.SEAL and self.rules.sealed:
            state = self.state = RecordState.SEALED
        elif entry.kind is EntryKind.SEAL and self.state is RecordState.OPEN:
            state = self.state = RecordState.CLOSED
        return RecordRelayed(RecordChange(entry=kept, state=state), deliveries)

    def depart(self, user_id: int) -> None:
        """A device is gone: its counts go (its entries and grants stay)."""
        self.heads.forget(user_id)
        self.appends.forget(user_id)

    def close(self, by: Attendee) -> RecordState | None:
        """The host closes the record: the state to keep and tell, or None if it was closed."""
        self._require()
        if by.role is not Role.HOST:
            raise PolicyError(ErrorCode.FORBIDDEN, "only the host closes the record")
        return self.end()

    def end(self) -> RecordState | None:
        """The summit nears its end or the host closes it: from now on only seals."""
        if not self.kept or self.state is not RecordState.OPEN:
            return None
        self.state = RecordState.CLOSED
        return self.state

    # -- the record key -----------------------------------------------------------------------------

    def grant(
        self,
        by: Attendee,
        certificate: DeviceCertificate | None,
        text: str,
        readers: Mapping[int, Attendee],
    ) -> RecordRelayed:
        """A grant of the record key by a certified member: the first fixes the key; each reader and
        each pinned delegation is granted once (a second grant for one is answered, not kept)."""
        self._require()
        granter = self._signer(by, certificate)
        grant = read_document(RecordGrant, text, "the grant")
        if grant.summit_id != self.summit.summit_id:
            raise PolicyError(ErrorCode.INVALID, "the grant is for another summit")
        if grant.granter != granter.serial or not grant.verify(by.key):
            raise PolicyError(ErrorCode.INVALID, "a grant is signed by the device that sends it")
        if self.key_id is not None and grant.key_id != self.key_id:
            raise PolicyError(ErrorCode.RECORD_CONFLICT, "the record already has its key: wait for its grant")
        if grant.recipient_kind is RecipientKind.DEVICE:
            if grant.recipient not in {d.key for d in readers.values()}:
                raise PolicyError(
                    ErrorCode.NO_SUCH_DEVICE, "the grant is for no reader of the record present"
                )
        elif Fingerprint.of(grant.recipient) not in self.pins.values():
            raise PolicyError(ErrorCode.INVALID, "the grant is for no pinned delegation's key")
        if grant.recipient in self.grants:
            return RecordRelayed(RecordChange(), [])
        self.key_id = grant.key_id
        self.grants[grant.recipient] = text
        op = RecordGrantOp(d=RecordGrantData(grant=text))
        deliveries: list[tuple[int, RecordOp]] = [
            (user_id, op) for user_id, d in readers.items() if d.key == grant.recipient
        ]
        return RecordRelayed(RecordChange(grant=(b64url(grant.recipient), text)), deliveries)

    # -- heads and signer lists -------------------------------------------------------------------------

    def head(self, by: Attendee, text: str, readers: Iterable[int], now: float) -> list[tuple[int, RecordOp]]:
        """A member's signed head, relayed (not kept); rate-limited per device (`now`: monotonic)."""
        self._require()
        head = read_document(RecordHead, text, "the head")
        if head.summit_id != self.summit.summit_id or head.user_id != by.user_id or not head.verify(by.key):
            raise PolicyError(ErrorCode.INVALID, "a head is of this summit, signed by the device sending it")
        if not self.heads.take(by.user_id, now):
            raise PolicyError(
                ErrorCode.RATE_LIMITED, f"at most {HEADS_PER_WINDOW} heads in {HEAD_WINDOW:.0f} s"
            )
        op = RecordHeadOp(d=RecordHeadFromData(user_id=by.user_id, head=text))
        return [(user_id, op) for user_id in readers if user_id != by.user_id]

    def signers(self, by: Attendee, is_officer: bool, text: str, readers: Iterable[int]) -> RecordRelayed:
        """An officer's signer list for its delegation, signed by the pinned key (the room keeps
        it with the identity documents, SIGNER_LIST)."""
        self._require()
        if not is_officer:
            raise PolicyError(ErrorCode.FORBIDDEN, "only an officer console names its delegation's signers")
        signer_list = read_document(SignerList, text, "the signer list")
        if signer_list.delegation != by.delegation.name:
            raise PolicyError(ErrorCode.FORBIDDEN, "an officer names the signers of its own delegation only")
        try:
            replaced = self.rules.add_signer_list(signer_list)
        except ValueError as e:  # IdentityError is one: another key's, another summit's, forged
            raise PolicyError(ErrorCode.INVALID, f"the signer list is refused: {e}") from None
        if not replaced:
            held = self.signer_lists[signer_list.delegation]
            raise PolicyError(
                ErrorCode.INVALID, f"signer list {signer_list.sequence} cannot replace {held.sequence}"
            )
        self.signer_lists[signer_list.delegation] = signer_list
        op = SignersOp(d=SignerListData(signer_list=text))
        return RecordRelayed(RecordChange(), [(user_id, op) for user_id in readers])

    # -- what readers are told ------------------------------------------------------------------------

    def state_op(self, readers: Mapping[int, Attendee], issuers: Iterable[bytes]) -> RecordStateOp:
        """The state, with the readers and pinned delegations holding no grant. `issuers`: the
        delegation keys the server holds certificates of (a delegation's key is learnt from them)."""
        delegations = sorted(
            name
            for issuer in set(issuers)
            if issuer not in self.grants
            for name, pin in self.pins.items()
            if Fingerprint.of(issuer) == pin
        )
        return RecordStateOp(
            d=RecordStateData(
                state=self.state,
                length=len(self.entries),
                key_id=b64url(self.key_id) if self.key_id else "",
                ungranted_devices=sorted(u for u, d in readers.items() if d.key not in self.grants),
                ungranted_delegations=delegations,
            )
        )

    def on_admission(self, device: Attendee) -> list[RecordOp]:
        """A reader comes in: the signer lists and its grant if it has one (it reads the log
        itself, page by page: a thousand entries would not fit in its outbox)."""
        ops: list[RecordOp] = [
            SignersOp(d=SignerListData(signer_list=held.to_text())) for held in self.signer_lists.values()
        ]
        if (grant := self.grants.get(device.key)) is not None:
            ops.append(RecordGrantOp(d=RecordGrantData(grant=grant)))
        return ops

    def read(self, by: Attendee, certificate: DeviceCertificate | None, from_seq: int) -> RecordEntriesOp:
        """A page of the log from `from_seq`: as many entries as PAGE_TEXT holds, at least one."""
        self._require()
        self._signer(by, certificate)
        page: list[RecordEntryData] = []
        size = 0
        for kept in self.entries[from_seq:]:
            size += len(kept.entry) + len(kept.ciphertext) + len(kept.certificate)
            if page and size > PAGE_TEXT:
                break
            page.append(_entry_data(kept))
        return RecordEntriesOp(d=RecordEntriesData(entries=page, length=len(self.entries)))


def _entry_data(kept: KeptEntry) -> RecordEntryData:
    return RecordEntryData(entry=kept.entry, ciphertext=kept.ciphertext, certificate=kept.certificate)


def _entry_op(kept: KeptEntry) -> RecordEntryOp:
    return RecordEntryOp(d=_entry_data(kept))

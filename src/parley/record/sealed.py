"""The sealed record: the record as the server keeps it (ciphertext, signatures, grants), in one JSON
file a delegation takes home, and its opening with the delegation's key, offline.

The server writes it (`GET /api/summits/{id}/record`, `parley record fetch`) from its store and
reads nothing in it. `open_sealed` trusts none of it: the pins are the pin set the delegation's
own key signed (or those the officer gives), the record key comes from the grant to the
delegation's key, signed by a pinned member, and every entry is replayed through the same view
every device runs, each text decrypted against the commitment its signer signed. What comes out
is the readout (`parley.record.readout`), as a device of the delegation would export it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from parley.identity.certificate import DeviceCertificate, verify_certificate
from parley.identity.delegation_key import DelegationKey
from parley.identity.fingerprint import Fingerprint
from parley.identity.pins import PinSet, verify_pins
from parley.identity.revocation import RevocationBook
from parley.protocol.fields import unb64url
from parley.record.entry import RecordEntry
from parley.record.keys import RecipientKind, RecordGrant, RecordKey, open_delegation_grant
from parley.record.readout import MAX_READOUT, canonical_json, export_readout
from parley.record.rules import RecordRules
from parley.record.signers import SignerList
from parley.record.view import RecordView

FORMAT = "parley-sealed-record-v1"
_TOP = {"format", "summit_id", "state", "entries", "grants", "signer_lists", "pin_sets", "certificates"}
_ENTRY = {"entry", "ciphertext", "certificate"}


@dataclass(frozen=True)
class SealedEntry:
    entry: str  # parley-record-entry:...
    ciphertext: str  # base64url nonce || AES-GCM, "" for a sign or a seal
    certificate: str  # its signer's certificate


@dataclass(frozen=True)
class SealedRecord:
    """What the server holds of a summit's record, every document in its text form."""

    summit_id: str
    state: str  # open, closed, sealed (as the server says: the seals in the log are what count)
    entries: tuple[SealedEntry, ...]
    grants: tuple[str, ...]
    signer_lists: tuple[str, ...]
    pin_sets: tuple[str, ...]  # each delegation's, as its officer published it
    certificates: tuple[str, ...]  # every certificate the server keeps (the grants' signers among them)

    def to_json(self) -> bytes:
        return canonical_json(
            {
                "format": FORMAT,
                "summit_id": self.summit_id,
                "state": self.state,
                "entries": [
                    {"entry": e.entry, "ciphertext": e.ciphertext, "certificate": e.certificate}
                    for e in self.entries
                ],
                "grants": list(self.grants),
                "signer_lists": list(self.signer_lists),
                "pin_sets": list(self.pin_sets),
                "certificates": list(self.certificates),
            }
        )

    @classmethod
    def from_json(cls, data: bytes) -> SealedRecord:
        """Parse (ValueError if it is not a sealed record); nothing in it is trusted yet."""
        if len(data) > MAX_READOUT:
            raise ValueError(f"a sealed record is at most {MAX_READOUT} bytes")
        try:
            document = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"not a JSON file: {e}") from None
        if not isinstance(document, dict) or set(document) != _TOP or document["format"] != FORMAT:
            raise ValueError(f"not a sealed record ({FORMAT})")
        entries = []
        for item in _list(document, "entries"):
            if (
                not isinstance(item, dict)
                or set(item) != _ENTRY
                or not all(isinstance(v, str) for v in item.values())
            ):
                raise ValueError("an entry of a sealed record is {entry, ciphertext, certificate}, all text")
            entries.append(SealedEntry(item["entry"], item["ciphertext"], item["certificate"]))
        if not isinstance(document["summit_id"], str) or not isinstance(document["state"], str):
            raise ValueError("a sealed record names its summit and state")
        return cls(
            document["summit_id"],
            document["state"],
            tuple(entries),
            *(_texts(document, key) for key in ("grants", "signer_lists", "pin_sets", "certificates")),
        )


def _list(document: Mapping[str, Any], key: str) -> list[Any]:
    value = document[key]
    if not isinstance(value, list):
        raise ValueError(f"a sealed record's {key} is a list")
    return value


def _texts(document: Mapping[str, Any], key: str) -> tuple[str, ...]:
    items = _list(document, key)
    if not all(isinstance(item, str) for item in items):
        raise ValueError(f"a sealed record's {key} are texts")
    return tuple(items)


@dataclass(frozen=True)
class Opened:
    """A sealed record opened by a delegation: its readout and whether the record is sealed."""

    delegation: str
    pins: dict[str, Fingerprint]
    readout: bytes
    sealed: bool
    entries: int


def own_pins(sealed: SealedRecord, key: DelegationKey) -> dict[str, Fingerprint]:
    """The pins in the pin set this delegation's key signed for the summit (its latest)."""
    trusted = None
    for text in sealed.pin_sets:
        pin_set = PinSet.from_text(text)
        if Fingerprint.of(pin_set.issuer) == key.fingerprint:
            trusted = verify_pins(pin_set, key.fingerprint, sealed.summit_id, trusted)
    if trusted is None:
        raise ValueError("the sealed record holds no pin set signed by this delegation's key: give --pin")
    return dict(trusted.by_name)


def open_sealed(
    sealed: SealedRecord, key: DelegationKey, pins: Mapping[str, Fingerprint] | None = None
) -> Opened:
    """Open the record with the delegation's key and check all of it (ValueError naming what
    fails). `pins`: every delegation's fingerprint; by default the pin set this key signed."""
    pins = dict(pins) if pins else own_pins(sealed, key)
    delegation = next((name for name, pin in pins.items() if pin == key.fingerprint), None)
    if delegation is None:
        raise ValueError(f"this key ({key.fingerprint}) is not pinned for any delegation of the summit")
    rules = RecordRules(sealed.summit_id, set(pins), pins=pins)
    for text in sealed.signer_lists:
        rules.add_signer_list(SignerList.from_text(text))
    view = RecordView(rules, _record_key(sealed, key, pins))
    for item in sealed.entries:
        entry = RecordEntry.from_text(item.entry)
        certificate = DeviceCertificate.from_text(item.certificate)
        if certificate.serial not in rules.certificates:
            rules.add_certificate(certificate)
        ciphertext = unb64url(item.ciphertext) if item.ciphertext else b""
        alarms = view.receive_entry(entry, ciphertext, time.time())
        if alarms or len(rules.log) != entry.seq + 1:
            raise ValueError(f"entry {entry.seq}: {alarms[0] if alarms else 'not next in the log'}")
    readout = export_readout(rules, view.statements(), delegation)
    return Opened(delegation, pins, readout, rules.sealed, len(rules.log))


def _record_key(sealed: SealedRecord, key: DelegationKey, pins: Mapping[str, Fingerprint]) -> RecordKey:
    """The record key from the grant to this delegation, signed by a member whose certificate is
    good for the summit and signed by the key pinned for its delegation."""
    grant = next(
        (
            g
            for g in (RecordGrant.from_text(text) for text in sealed.grants)
            if g.recipient_kind is RecipientKind.DELEGATION and g.recipient == key.public_key
        ),
        None,
    )
    if grant is None:
        raise ValueError("the record holds no grant of its key to this delegation")
    if grant.summit_id != sealed.summit_id:
        raise ValueError("the grant to this delegation is for another summit")
    granter = _certificate(sealed, grant.granter, pins)
    if not grant.verify(granter.claim.device_key):
        raise ValueError("the grant to this delegation is not signed by the device it names")
    return open_delegation_grant(grant, key)


def _certificate(sealed: SealedRecord, serial: bytes, pins: Mapping[str, Fingerprint]) -> DeviceCertificate:
    texts: Sequence[str] = (*sealed.certificates, *(e.certificate for e in sealed.entries))
    for certificate in (DeviceCertificate.from_text(text) for text in texts):
        if certificate.serial != serial:
            continue
        if pins.get(certificate.claim.delegation) != Fingerprint.of(certificate.issuer):
            raise ValueError("the grant's signer is certified by a key not pinned for its delegation")
        # Checked at its own start: the grant was made while it was good; no revocations offline.
        verify_certificate(
            certificate, sealed.summit_id, certificate.not_before, RevocationBook(sealed.summit_id)
        )
        return certificate
    raise ValueError("the grant to this delegation is signed by a device whose certificate the record lacks")

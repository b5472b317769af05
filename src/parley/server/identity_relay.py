"""The server's part in delegation-certified identities: keep the documents, relay them, and let
into the key group only devices it holds a certificate for.

Sans-IO, beside `parley.server.room_policy` (which owns one per room and turns what it returns
into effects). Nothing here is trusted by any client: each checks every document itself
(parley.identity.epoch_check). The server checks them anyway, for two reasons: an honest server
gives an officer or a device a clear error at once instead of an alarm on every screen, and it
keeps out of its store and its relays anything that is not a well-formed document of this summit
(bounded: one request per device present, one certificate per device present, one revocation
list per pinned key, one pin set per delegation).

A summit is certified when the organiser pinned a key for each delegation (`Summit.pins`). Its
devices enter the call only once certified: a device without a certificate waits (`enrolling`
in the room) while its delegation's officer approves its enrollment request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from parley.identity.attestation import EpochAttestation
from parley.identity.certificate import DeviceCertificate, verify_certificate
from parley.identity.claim import DeviceClaim
from parley.identity.encoding import SignedDocument
from parley.identity.enrollment import EnrollmentRequest, verify_request
from parley.identity.fingerprint import Fingerprint
from parley.identity.officer import verify_officer
from parley.identity.pins import PinSet
from parley.identity.problems import IdentityError
from parley.identity.revocation import RevocationBook, RevocationList
from parley.protocol.codes import ErrorCode
from parley.protocol.errors import PolicyError
from parley.protocol.fields import unb64url
from parley.protocol.server_ops import (
    AttestationData,
    AttestationOp,
    CertificateData,
    CertificateOp,
    EnrollmentRequestData,
    EnrollmentRequestOp,
    IdentityOp,
    PinSetData,
    PinsOp,
    RevocationListData,
    RevocationsOp,
)
from parley.server.attendee import Attendee
from parley.server.rate_limit import PerDevice
from parley.summit.model import Summit

# A member attests each epoch it enters once; even many devices joining at once move the epoch a
# few times a second, the transitions taking their time (up to 2 s each). Each
# attestation is relayed to every other member, so a device sending more than this is refused
# rather than let fill everyone's outbox (the room drops a device that falls that far behind).
ATTESTATIONS_PER_WINDOW = 20
ATTESTATION_WINDOW = 2.0  # s


class DocumentKind:
    """What the store keeps, by kind; `owner` says whose it is within the summit."""

    CERTIFICATE = "certificate"  # owner: the device's user id
    REVOCATIONS = "revocations"  # owner: the issuing key's fingerprint
    PIN_SET = "pin_set"  # owner: the delegation id


@dataclass(frozen=True)
class Keep:
    """A document for the store (it replaces the one of the same kind and owner)."""

    kind: str
    owner: str
    text: str


@dataclass(frozen=True)
class Relay:
    """What the room sends (`deliveries`) and keeps (`keep`) for one identity op."""

    deliveries: list[tuple[int, IdentityOp]]
    keep: list[Keep]


D = TypeVar("D", bound=SignedDocument)


def read_document(kind: type[D], text: str, what: str) -> D:
    """A document as a device sent it, or the PolicyError (`invalid`) saying why it does not read."""
    try:
        return kind.from_text(text)
    except ValueError as e:
        raise PolicyError(ErrorCode.INVALID, f"{what} does not read: {e}") from None


def claim_of(summit: Summit, device: Attendee) -> DeviceClaim:
    """What a certificate for this device must say: exactly what the roster shows of it."""
    return DeviceClaim(
        summit_id=summit.summit_id,
        delegation_id=device.delegation.delegation_id,
        delegation=device.delegation.name,
        role=device.role,
        people=device.people,
        language=device.language,
        device_key=device.key,
        user_id=device.user_id,
    )


class IdentityRelay:
    def __init__(self, summit: Summit, kept: Iterable[Keep] = ()) -> None:
        """`kept`: the summit's documents as the store holds them when the room opens."""
        self.summit = summit
        self.pins: dict[str, Fingerprint] = {
            name: Fingerprint.parse(pin) for name, pin in summit.pins.items()
        }
        self.revocations = RevocationBook(summit.summit_id)
        self.certificates: dict[int, DeviceCertificate] = {}
        self.pin_sets: dict[str, PinSet] = {}  # by delegation id
        self.requests: dict[int, EnrollmentRequest] = {}  # by the device asking
        self.officers: dict[int, str] = {}  # console's user id -> its delegation id
        self.attested = PerDevice(ATTESTATIONS_PER_WINDOW, ATTESTATION_WINDOW)
        for document in kept:
            if document.kind == DocumentKind.CERTIFICATE:
                self.certificates[int(document.owner)] = DeviceCertificate.from_text(document.text)
            elif document.kind == DocumentKind.REVOCATIONS:
                self.revocations.accept(RevocationList.from_text(document.text))
            elif document.kind == DocumentKind.PIN_SET:
                self.pin_sets[document.owner] = PinSet.from_text(document.text)

    @property
    def required(self) -> bool:
        """Whether devices must be certified to enter the call (the organiser pinned keys)."""
        return bool(self.pins)

    def pin_set_text(self, delegation_id: str) -> str | None:
        held = self.pin_sets.get(delegation_id)
        return held.to_text() if held else None

    # -- certificates ------------------------------------------------------------------------------

    def certified(self, device: Attendee, now: float) -> bool:
        """Whether the server holds a good certificate for this device (always, when not required)."""
        if not self.required:
            return True
        held = self.certificates.get(device.user_id)
        if held is None:
            return False
        try:
            self._check(held, device, now)
        except PolicyError:
            return False
        return True

    def _check(self, certificate: DeviceCertificate, device: Attendee, now: float) -> None:
        """The honest server's check of a certificate for a device: as a client would (signed by
        the key pinned for its delegation, valid, not revoked), and exactly the device's claim."""
        try:
            verify_certificate(certificate, self.summit.summit_id, now, self.revocations)
        except IdentityError as e:
            raise PolicyError(ErrorCode.INVALID, f"certificate refused: {e}") from None
        pinned = self.pins.get(device.delegation.name)
        if self.required and certificate.issuer_fingerprint != pinned:
            raise PolicyError(
                ErrorCode.INVALID,
                f"certificate refused: it is signed by the key {certificate.issuer_fingerprint},"
                f" not by the key pinned for {device.delegation.name}",
            )
        if certificate.claim != claim_of(self.summit, device):
            raise PolicyError(
                ErrorCode.INVALID,
                f"certificate refused: it says {certificate.claim.describe()}, not what this device is",
            )

    def present(self, device: Attendee, text: str, now: float, to: Iterable[int]) -> Relay:
        """A certificate for `device` (its own, at identify, or its officer's approval): checked,
        kept and relayed to the devices `to`. PolicyError if it is not good for the device."""
        certificate = read_document(DeviceCertificate, text, "the certificate")
        self._check(certificate, device, now)
        self.certificates[device.user_id] = certificate
        self.requests.pop(device.user_id, None)
        op = CertificateOp(d=CertificateData(user_id=device.user_id, certificate=certificate.to_text()))
        keep = Keep(DocumentKind.CERTIFICATE, str(device.user_id), certificate.to_text())
        return Relay([(user_id, op) for user_id in to], [keep])

    def certificates_of(self, devices: Iterable[int]) -> list[CertificateOp]:
        """The certificates held for these devices, one op each (for a device arriving)."""
        return [
            CertificateOp(
                d=CertificateData(user_id=user_id, certificate=self.certificates[user_id].to_text())
            )
            for user_id in devices
            if user_id in self.certificates
        ]

    def revocation_lists(self) -> list[RevocationsOp]:
        return [
            RevocationsOp(d=RevocationListData(revocations=held.to_text()))
            for held in self.revocations.latest()
        ]

    # -- officers and enrollment --------------------------------------------------------------------

    def officer(self, device: Attendee, key_text: str, proof_text: str) -> list[tuple[int, IdentityOp]]:
        """A console proves it holds its delegation's key; it gets the requests waiting."""
        key, proof = unb64url(key_text), unb64url(proof_text)
        if not verify_officer(key, proof, self.summit.summit_id, device.user_id):
            raise PolicyError(ErrorCode.INVALID, "the officer's proof does not verify with this key")
        if self.required and Fingerprint.of(key) != self.pins.get(device.delegation.name):
            raise PolicyError(
                ErrorCode.FORBIDDEN, f"this key is not the one pinned for {device.delegation.name}"
            )
        self.officers[device.user_id] = device.delegation.delegation_id
        return [
            (device.user_id, _request_op(user_id, request))
            for user_id, request in self.requests.items()
            if request.claim.delegation_id == device.delegation.delegation_id
        ]

    def enroll(self, device: Attendee, text: str) -> list[tuple[int, IdentityOp]]:
        """A device's request, if it is exactly this device's claim, signed by its key; relayed to
        its delegation's consoles present (and kept for any that come later)."""
        request = read_document(EnrollmentRequest, text, "the enrollment request")
        try:
            verify_request(request)
        except IdentityError as e:
            raise PolicyError(ErrorCode.INVALID, f"enrollment request refused: {e}") from None
        if request.claim != claim_of(self.summit, device):
            raise PolicyError(
                ErrorCode.INVALID,
                f"the enrollment request says {request.claim.describe()}, not what this device is",
            )
        self.requests[device.user_id] = request
        delegation_id = device.delegation.delegation_id
        op = _request_op(device.user_id, request)
        return [(console, op) for console, of in self.officers.items() if of == delegation_id]

    def _console_key(self, by: Attendee, what: str) -> None:
        if by.user_id not in self.officers:
            raise PolicyError(ErrorCode.FORBIDDEN, f"only an officer console may send {what}")

    def approve(
        self, by: Attendee, text: str, devices: Mapping[int, Attendee], now: float, to: Iterable[int]
    ) -> tuple[Attendee, Relay]:
        """An officer's certificate for a device of its delegation present in the summit."""
        self._console_key(by, "a certificate")
        certificate = read_document(DeviceCertificate, text, "the certificate")
        device = devices.get(certificate.claim.user_id)
        if device is None:
            raise PolicyError(ErrorCode.NO_SUCH_DEVICE, "the certified device is not in this summit")
        if device.delegation.delegation_id != by.delegation.delegation_id:
            raise PolicyError(ErrorCode.FORBIDDEN, "an officer certifies devices of its own delegation only")
        return device, self.present(device, text, now, to)

    def may_decline(self, by: Attendee, device: Attendee) -> None:
        """An officer declines only a device of its own delegation (PolicyError otherwise)."""
        self._console_key(by, "a refusal to certify")
        if device.delegation.delegation_id != by.delegation.delegation_id:
            raise PolicyError(ErrorCode.FORBIDDEN, "an officer declines devices of its own delegation only")

    def revoke(self, by: Attendee, text: str, to: Iterable[int]) -> Relay:
        """An officer's new revocation list: kept and relayed to every device."""
        self._console_key(by, "a revocation list")
        revocations = read_document(RevocationList, text, "the revocation list")
        if self.required and Fingerprint.of(revocations.issuer) != self.pins.get(by.delegation.name):
            raise PolicyError(ErrorCode.FORBIDDEN, "a revocation list is signed by the officer's own key")
        try:
            changed = self.revocations.accept(revocations)
        except IdentityError as e:
            raise PolicyError(ErrorCode.INVALID, f"revocation list refused: {e}") from None
        if not changed:
            return Relay([], [])
        op = RevocationsOp(d=RevocationListData(revocations=revocations.to_text()))
        keep = Keep(DocumentKind.REVOCATIONS, str(Fingerprint.of(revocations.issuer)), revocations.to_text())
        return Relay([(user_id, op) for user_id in to], [keep])

    def revoked(self, devices: Iterable[Attendee]) -> list[Attendee]:
        """The devices whose held certificate is now revoked (their stay ends)."""
        return [
            device
            for device in devices
            if (held := self.certificates.get(device.user_id)) is not None
            and self.revocations.is_revoked(held.issuer, held.serial)
        ]

    def publish_pins(self, by: Attendee, text: str, to: Iterable[int]) -> Relay:
        """An officer's pin set for its delegation's devices (`to`): signed by its own key, for
        this summit, newer than the one kept."""
        self._console_key(by, "a pin set")
        pin_set = read_document(PinSet, text, "the pin set")
        if self.required and Fingerprint.of(pin_set.issuer) != self.pins.get(by.delegation.name):
            raise PolicyError(ErrorCode.FORBIDDEN, "a pin set is signed by the officer's own key")
        if pin_set.summit_id != self.summit.summit_id:
            raise PolicyError(ErrorCode.INVALID, "the pin set is for another summit")
        delegation_id = by.delegation.delegation_id
        held = self.pin_sets.get(delegation_id)
        if held is not None and pin_set.sequence <= held.sequence:
            if pin_set == held:
                return Relay([], [])
            raise PolicyError(
                ErrorCode.INVALID, f"pins numbered {pin_set.sequence} cannot replace number {held.sequence}"
            )
        self.pin_sets[delegation_id] = pin_set
        op = PinsOp(d=PinSetData(pin_set=pin_set.to_text()))
        return Relay([(user_id, op) for user_id in to], [Keep(DocumentKind.PIN_SET, delegation_id, text)])

    # -- attestations -----------------------------------------------------------------------------

    def attest(self, by: Attendee, text: str, to: Iterable[int], now: float) -> list[tuple[int, IdentityOp]]:
        """A member's attestation, for this summit and its own user id, relayed (not kept); at
        most ATTESTATIONS_PER_WINDOW per device in ATTESTATION_WINDOW seconds (`now`: monotonic)."""
        attestation = read_document(EpochAttestation, text, "the attestation")
        if attestation.summit_id != self.summit.summit_id or attestation.user_id != by.user_id:
            raise PolicyError(ErrorCode.INVALID, "an attestation is of this summit, by the device sending it")
        if not self.attested.take(by.user_id, now):
            raise PolicyError(
                ErrorCode.RATE_LIMITED,
                f"at most {ATTESTATIONS_PER_WINDOW} attestations in {ATTESTATION_WINDOW:.0f} s"
                " (a device attests each epoch once)",
            )
        op = AttestationOp(d=AttestationData(user_id=by.user_id, attestation=attestation.to_text()))
        return [(user_id, op) for user_id in to if user_id != by.user_id]

    def depart(self, user_id: int) -> None:
        """A device is gone: its request and its console role go; its certificate is kept (it may
        come back, and its certificate is public anyway)."""
        self.requests.pop(user_id, None)
        self.officers.pop(user_id, None)
        self.attested.forget(user_id)


def _request_op(user_id: int, request: EnrollmentRequest) -> EnrollmentRequestOp:
    return EnrollmentRequestOp(d=EnrollmentRequestData(request=request.to_text(), user_id=user_id))

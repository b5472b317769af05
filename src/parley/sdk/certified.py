"""The client's side of delegation-certified identities, between the socket and the sans-IO parts.

A `ParleyClient` given its own delegation's fingerprint makes one of these once `ready` has
placed it. It turns the identity ops the server relays into documents (refusing, and counting in
`refused`, any that does not parse or verify), feeds them to `Certification` (may media go out,
which alarms stand) and to `Enrollment` (this device's own certificate), and says what to send:
the enrollment request, the console's announcements, an attestation of each epoch entered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from parley.identity.attestation import EpochAttestation, attest
from parley.identity.certificate import DeviceCertificate
from parley.identity.claim import DeviceClaim
from parley.identity.enrollment import EnrollmentRequest
from parley.identity.epoch_check import RosterEntry
from parley.identity.fingerprint import Fingerprint
from parley.identity.pins import PinSet
from parley.identity.revocation import RevocationList
from parley.protocol.device_ops import Attest, AttestData, Enroll, EnrollData
from parley.protocol.server_ops import (
    AttestationOp,
    CertificateOp,
    DeviceInfo,
    IdentityOp,
    OkOp,
    PinsOp,
    ReadyData,
    RevocationsOp,
)
from parley.sdk.certification import Certification
from parley.sdk.enrollment import CertificateFile, Enrollment
from parley.sdk.member import DaveMember, MemberState
from parley.sdk.membership import Alarm
from parley.sdk.officer import OfficerConsole, Requester

log = logging.getLogger(__name__)

Signer = Callable[[bytes], bytes]


def claim_of(ready: ReadyData, device_key: bytes) -> DeviceClaim:
    """What this device is, as `ready` placed it: exactly what its certificate must say."""
    d = ready.device
    return DeviceClaim(
        ready.summit.summit_id,
        d.delegation_id,
        d.delegation,
        d.role,
        tuple(d.people),
        d.language,
        device_key,
        d.user_id,
    )


def roster_entry(device: DeviceInfo) -> RosterEntry:
    return RosterEntry(
        device.delegation_id, device.delegation, device.role, tuple(device.people), device.language
    )


class CertifiedDevice:
    def __init__(
        self,
        ready: ReadyData,
        device_key: bytes,
        sign: Signer,
        own: Fingerprint,
        *,
        kept: DeviceCertificate | None,
        certificate_file: CertificateFile | None,
        officer: OfficerConsole | None,
        now: float,
    ) -> None:
        self.summit_id = ready.summit.summit_id
        self.user_id = ready.device.user_id
        self._sign = sign
        self.certificate_file = certificate_file
        self.officer = officer
        self.certification = Certification(self.summit_id, self.user_id, own, ready.summit.pins)
        self.enrollment = Enrollment(claim_of(ready, device_key), own, sign, kept, now)
        self.refused: list[str] = []  # documents relayed that were refused, and why (for people)
        self._pin_set: PinSet | None = None  # the latest this device trusts
        request = self.enrollment.request
        if officer is not None and request is not None:
            self.enrollment.answer(officer.certify_self(request, now), now)
        self.news: list[Alarm] = []
        if (text := ready.pin_set) is not None:
            self.news += self._take(lambda: self._pins(PinSet.from_text(text), now), "pin set")
        # A console signs its pins here (numbered after the ones its devices trust, if any), and
        # trusts them as its delegation's devices will.
        self._own_pins = officer.sign_pins(self._pin_set) if officer is not None else None
        if self._own_pins is not None:
            self.news += self._pins(self._own_pins, now)
        if self.enrollment.certificate is not None:
            self._keep(self.enrollment.certificate)
            self.news += self.certification.certificate(self.enrollment.certificate, now)
        self.news += self.certification.tick(now)

    @property
    def code(self) -> str | None:
        """The enrollment code to show while this device waits for its certificate."""
        return self.enrollment.code

    async def start(self, client: Requester) -> None:
        """Right after `ready` (a device without a good certificate is kept out of the call until
        it has one): ask for a certificate, or (a console) announce itself."""
        if self.officer is not None and self.enrollment.certificate is not None:
            await self.officer.announce(client, self.user_id, self.enrollment.certificate, self._own_pins)
        elif self.enrollment.certificate is None and self.enrollment.request is not None:
            await client.request(Enroll(d=EnrollData(request=self.enrollment.request.to_text())), OkOp)

    async def enroll_again(self, client: Requester, reason: str) -> None:
        """The server refused the certificate this device presented in `identify`."""
        log.warning("the server refused this device's kept certificate (%s): enrolling again", reason)
        request = self.enrollment.withdraw()
        await client.request(Enroll(d=EnrollData(request=request.to_text())), OkOp)

    # -- inputs ---------------------------------------------------------------------------------

    def on_op(self, op: IdentityOp, now: float) -> list[Alarm]:
        """An identity op the server relayed; the alarms it raised."""
        if isinstance(op, CertificateOp):
            return self._take(
                lambda: self._certificate(DeviceCertificate.from_text(op.d.certificate), now), "certificate"
            )
        if isinstance(op, RevocationsOp):
            return self._take(
                lambda: self.certification.revocation_list(RevocationList.from_text(op.d.revocations), now),
                "revocation list",
            )
        if isinstance(op, PinsOp):
            return self._take(lambda: self._pins(PinSet.from_text(op.d.pin_set), now), "pin set")
        if isinstance(op, AttestationOp):
            return self._take(lambda: self._attestation(op.d.user_id, op.d.attestation, now), "attestation")
        return self._take(lambda: self._enrollment_request(op.d.user_id, op.d.request), "enrollment request")

    def roster(self, devices: list[DeviceInfo], now: float) -> list[Alarm]:
        return self.certification.roster({d.user_id: roster_entry(d) for d in devices}, now)

    def key_group(self, member: DaveMember, entered: int, now: float) -> list[Alarm]:
        """After a DAVE op: a new epoch (`member.entered` moved past `entered`), or no group any more."""
        if member.state is not MemberState.JOINED:
            return self.certification.left_group(now) if self.certification.in_group else []
        if member.entered == entered:
            return []
        return self.certification.key_group(member.roster, member.epoch, member.authenticator(), now)

    def attestation(self) -> Attest | None:
        """The attestation of the epoch just entered, to send (once), if any."""
        epoch = self.certification.to_attest()
        if epoch is None:
            return None
        signed = attest(self.summit_id, epoch.number, epoch.authenticator, self.user_id, self._sign)
        return Attest(d=AttestData(attestation=signed.to_text()))

    # -- inside ---------------------------------------------------------------------------------

    def _certificate(self, certificate: DeviceCertificate, now: float) -> list[Alarm]:
        revocations = self.certification.revocations
        if certificate.claim.user_id == self.user_id and self.enrollment.answer(
            certificate, now, revocations
        ):
            self._keep(certificate)
        return self.certification.certificate(certificate, now)

    def _pins(self, pin_set: PinSet, now: float) -> list[Alarm]:
        alarms = self.certification.pin_set(pin_set, now)
        self._pin_set = pin_set
        return alarms

    def _enrollment_request(self, user_id: int, text: str) -> list[Alarm]:
        if self.officer is None:
            raise ValueError("an enrollment request sent to a device that is no officer console")
        self.officer.received(user_id, EnrollmentRequest.from_text(text))
        return []

    def _attestation(self, user_id: int, text: str, now: float) -> list[Alarm]:
        attestation = EpochAttestation.from_text(text)
        if attestation.user_id != user_id:
            raise ValueError(f"user {attestation.user_id}'s attestation relayed as user {user_id}'s")
        return self.certification.attestation(attestation, now)

    def _keep(self, certificate: DeviceCertificate) -> None:
        if self.certificate_file is not None:
            self.certificate_file.save(self.summit_id, certificate)

    def _take(self, work: Callable[[], list[Alarm]], what: str) -> list[Alarm]:
        """Run `work` on a relayed document; one that does not parse or verify is refused: logged
        with the reason (never the document), counted, and otherwise ignored."""
        try:
            return work()
        except ValueError as e:  # IdentityError is one
            self.refused.append(f"{what}: {e}")
            log.warning("refused a %s relayed by the server: %s", what, e)
            return []

"""A certified device's own certificate: the one it kept, or the request it makes and the answer
it takes (docs/identity.md, "The officer's ceremony", step 4).

The certificate is kept beside the device's key file (`<key file>.certificates.json`, owner-only:
{summit id: certificate text}), so that the device presents it in `identify` next time and goes
into the key group at once. A kept certificate is taken again only if it still certifies exactly
this device's claim as `ready` tells it (`accept_certificate`); otherwise the device asks anew.
Certificates are public (every member receives them), so the file holds no secret; it is
owner-only so that no one else on the machine replaces it.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from parley.identity.certificate import DeviceCertificate
from parley.identity.claim import DeviceClaim
from parley.identity.enrollment import DeviceSigner, EnrollmentRequest, accept_certificate, make_request
from parley.identity.fingerprint import Fingerprint
from parley.identity.problems import IdentityError, Problem
from parley.identity.revocation import RevocationBook

log = logging.getLogger(__name__)

MAX_SUMMITS = 64  # certificates kept per key file; the oldest go first


class CertificateFile:
    def __init__(self, key_file: Path) -> None:
        self.path = key_file.with_name(key_file.name + ".certificates.json")

    def load(self, summit_id: str) -> DeviceCertificate | None:
        """The certificate kept for a summit, if any and readable."""
        text = self._read().get(summit_id)
        if text is None:
            return None
        try:
            return DeviceCertificate.from_text(text)
        except ValueError as e:
            log.warning("the certificate kept in %s for summit %s is unreadable: %s", self.path, summit_id, e)
            return None

    def save(self, summit_id: str, certificate: DeviceCertificate) -> None:
        kept = {s: t for s, t in self._read().items() if s != summit_id}
        kept[summit_id] = certificate.to_text()
        kept = dict(list(kept.items())[-MAX_SUMMITS:])
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(kept, f)

    def _read(self) -> dict[str, str]:
        try:
            value = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(value, dict):
            return {}
        return {s: t for s, t in value.items() if isinstance(s, str) and isinstance(t, str)}


class Enrollment:
    """This device's own certificate, from its claim (what `ready` says it is). Sans-IO."""

    def __init__(
        self,
        claim: DeviceClaim,
        own: Fingerprint,
        sign: DeviceSigner,
        kept: DeviceCertificate | None,
        now: float,
    ) -> None:
        self.claim = claim
        self.own = own
        self.certificate: DeviceCertificate | None = None
        self.request: EnrollmentRequest | None = None
        self.refused: IdentityError | None = None  # why the last certificate offered was not taken
        self._sign = sign
        if kept is not None:
            try:
                accept_certificate(claim, kept, own, now)
                self.certificate = kept
            except IdentityError as e:
                self.refused = e  # expired, or for another role, people...: ask again
        if self.certificate is None:
            self.request = make_request(claim, sign)

    def withdraw(self) -> EnrollmentRequest:
        """The server found the kept certificate no longer good (revoked, say, which this device
        could not know before `ready`): ask again."""
        self.certificate = None
        self.request = make_request(self.claim, self._sign)
        return self.request

    @property
    def code(self) -> str | None:
        """The 20 digits to show, for the officer to compare, while the device waits."""
        return self.request.code if self.request and not self.certificate else None

    def answer(
        self, certificate: DeviceCertificate, now: float, revocations: RevocationBook | None = None
    ) -> bool:
        """A certificate relayed for this device's user id: taken if it certifies exactly its
        claim, signed by its own delegation, valid now and not revoked (True: newly taken).
        IdentityError if not, naming why; the device keeps waiting for its officer's."""
        if certificate == self.certificate:
            return False
        try:
            accept_certificate(self.claim, certificate, self.own, now)
            if revocations is not None and revocations.is_revoked(certificate.issuer, certificate.serial):
                raise IdentityError(Problem.REVOKED, "the certificate was revoked by its delegation")
        except IdentityError as e:
            self.refused = e
            raise
        self.certificate = certificate
        return True

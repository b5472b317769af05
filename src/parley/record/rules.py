"""What an entry must be to join the log: one set of rules for the server (which refuses), every
client (which raises an alarm) and `parley verify` (which refuses the readout).

`RecordRules` holds the log, the certificates it knows by serial and each delegation's latest
signer list; `check(entry)` raises `RecordError` naming the first rule broken, `append` takes an
entry that passed. The caller decides which certificates to add: ones it verified against the
pins (`pins=` makes `add_certificate` check that too). The delegation of an entry is its
signer's certificate's `claim.delegation`.

`standing()` says where each statement stands: an outcome is agreed when a signer of every
delegation signed it (the proposer by proposing); declined, it is the proposer's position.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from parley.identity.certificate import DeviceCertificate, verify_certificate
from parley.identity.fingerprint import Fingerprint
from parley.identity.problems import IdentityError
from parley.identity.revocation import RevocationBook
from parley.protocol.codes import RecordProblem
from parley.record.entry import ZERO32, EntryKind, RecordEntry
from parley.record.signers import SignerList, is_signer, verify_signers


class RecordError(ValueError):
    """An entry the rules refuse: `problem` for programs, the message for people."""

    def __init__(self, problem: RecordProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


@dataclass
class Standing:
    """Where one text entry stands: who wrote it, and for an outcome who agreed or declined."""

    seq: int
    kind: EntryKind
    by: str  # the writer's delegation
    agreed_by: list[str] = field(default_factory=list)  # an outcome: the proposer, then each signer
    declined_by: list[tuple[str, int]] = field(default_factory=list)  # (delegation, its decline's seq)
    amends: int | None = None  # an amendment: the seq of the outcome it amends
    answers: int | None = None  # a decline: the seq of the outcome it declines
    agreed: bool = False  # an outcome every delegation signed


class RecordRules:
    def __init__(
        self,
        summit_id: str,
        delegations: set[str],
        *,
        pins: Mapping[str, Fingerprint] | None = None,
        revocations: RevocationBook | None = None,
    ) -> None:
        self.summit_id = summit_id
        self.delegations = frozenset(delegations)
        self.pins = pins
        self.revocations = revocations or RevocationBook(summit_id)
        self.log: list[RecordEntry] = []
        self.certificates: dict[bytes, DeviceCertificate] = {}  # serial -> certificate
        self.signer_lists: dict[bytes, SignerList] = {}  # issuer -> latest list
        self._by_hash: dict[bytes, int] = {}  # entry hash -> seq
        self._answered: set[tuple[int, str]] = set()  # (outcome seq, delegation) signed or declined
        self._sealed_by: set[str] = set()
        self._seal_refers: bytes | None = None

    # -- what the rules know -------------------------------------------------------------------

    def add_certificate(self, certificate: DeviceCertificate) -> None:
        """A certificate entries may name. With pins: IdentityError unless its issuer is pinned for
        its delegation. Its validity is checked at each entry's time."""
        self._check_issuer(certificate.claim.delegation, certificate.issuer, "a certificate")
        self.certificates[certificate.serial] = certificate

    def add_signer_list(self, signers: SignerList) -> bool:
        """Keep a delegation's signer list if it is newer than the one held; IdentityError if it is
        not its delegation's, or for another summit. True if it replaced one."""
        self._check_issuer(signers.delegation, signers.issuer, "a signer list")
        verify_signers(signers, signers.issuer)
        if signers.summit_id != self.summit_id:
            raise ValueError(f"a signer list for summit {signers.summit_id}, not this one")
        held = self.signer_lists.get(signers.issuer)
        if held is not None and signers.sequence <= held.sequence:
            return False
        self.signer_lists[signers.issuer] = signers
        return True

    def _check_issuer(self, delegation: str, issuer: bytes, what: str) -> None:
        if delegation not in self.delegations:
            raise ValueError(f"{what} for {delegation}, not a delegation of this summit")
        if self.pins is not None and self.pins.get(delegation) != Fingerprint.of(issuer):
            raise ValueError(f"{what} for {delegation} signed by a key not pinned for it")

    @property
    def head(self) -> bytes:
        return self.log[-1].hash() if self.log else ZERO32

    @property
    def key_id(self) -> bytes | None:
        """The summit's record key id as the log fixes it (its first entry's)."""
        return self.log[0].key_id if self.log else None

    @property
    def sealed(self) -> bool:
        """Whether a signer of every delegation sealed the same head."""
        return self._sealed_by == set(self.delegations)

    @property
    def sealed_by(self) -> frozenset[str]:
        return frozenset(self._sealed_by)

    @property
    def sealed_head(self) -> bytes | None:
        return self._seal_refers

    def delegation_of(self, entry: RecordEntry) -> str:
        return self.certificates[entry.signer].claim.delegation

    # -- the rules -----------------------------------------------------------------------------

    def check(self, entry: RecordEntry, key_id: bytes | None = None, closed: bool = False) -> None:
        """Whether `entry` may be appended now; RecordError naming the first rule it breaks.
        `key_id`: the summit's record key id (None: the log's first entry fixes it). `closed`:
        whether the record was closed (seals come only after)."""
        what = entry.describe()
        if entry.summit_id != self.summit_id:
            raise RecordError(RecordProblem.WRONG_SUMMIT, f"{what} is for summit {entry.summit_id}")
        if entry.seq != len(self.log):
            raise RecordError(RecordProblem.OUT_OF_ORDER, f"{what} comes where entry {len(self.log)} belongs")
        if entry.prev != self.head:
            raise RecordError(
                RecordProblem.FORKED, f"{what} follows another entry than this log's {entry.seq - 1}"
            )
        delegation = self._check_signer(entry)
        expected = key_id or self.key_id
        if expected is not None and entry.key_id != expected:
            raise RecordError(
                RecordProblem.WRONG_KEY, f"{what} is under another record key than the summit's"
            )
        if entry.kind.has_text == (entry.commitment == ZERO32):
            raise RecordError(
                RecordProblem.MALFORMED, f"{what}: a text kind has a commitment, a sign or seal none"
            )
        self._check_kind(entry, delegation, closed)

    def _check_signer(self, entry: RecordEntry) -> str:
        what = entry.describe()
        certificate = self.certificates.get(entry.signer)
        if certificate is None:
            raise RecordError(RecordProblem.UNKNOWN_SIGNER, f"{what} names no certificate known here")
        try:
            verify_certificate(certificate, self.summit_id, entry.time / 1000, self.revocations)
        except IdentityError as e:
            raise RecordError(RecordProblem.BAD_CERTIFICATE, f"{what}: {e}") from None
        if not is_signer(certificate, self.signer_lists):
            raise RecordError(
                RecordProblem.NOT_A_SIGNER,
                f"{what}: {certificate.claim.describe()} may not sign for its delegation",
            )
        if not entry.verify(certificate.claim.device_key):
            raise RecordError(RecordProblem.BAD_SIGNATURE, f"{what} is not signed by its signer's device key")
        return certificate.claim.delegation

    def _check_kind(self, entry: RecordEntry, delegation: str, closed: bool) -> None:
        what, kind = entry.describe(), entry.kind
        if self._seal_refers is not None and kind is not EntryKind.SEAL:
            raise RecordError(
                RecordProblem.SEALED, f"{what} comes after the record was sealed: only seals may"
            )
        if kind in (EntryKind.POSITION, EntryKind.ACTION) and entry.refers != ZERO32:
            raise RecordError(RecordProblem.MALFORMED, f"{what} refers to another entry")
        if kind is EntryKind.OUTCOME and entry.refers != ZERO32:
            self._outcome(entry)  # an amendment: of an outcome of the log
        if kind in (EntryKind.SIGN, EntryKind.DECLINE):
            outcome = self._outcome(entry)
            if self.delegation_of(outcome) == delegation:
                raise RecordError(RecordProblem.BAD_REFERENCE, f"{what} answers its own delegation's outcome")
            if (outcome.seq, delegation) in self._answered:
                raise RecordError(
                    RecordProblem.ANSWERED, f"{what}: {delegation} already answered entry {outcome.seq}"
                )
        if kind is EntryKind.SEAL:
            self._check_seal(entry, delegation, closed)

    def _outcome(self, entry: RecordEntry) -> RecordEntry:
        seq = self._by_hash.get(entry.refers)
        if seq is None or self.log[seq].kind is not EntryKind.OUTCOME:
            raise RecordError(
                RecordProblem.BAD_REFERENCE, f"{entry.describe()} refers to no outcome of the log"
            )
        return self.log[seq]

    def _check_seal(self, entry: RecordEntry, delegation: str, closed: bool) -> None:
        what = entry.describe()
        if not closed:
            raise RecordError(RecordProblem.NOT_CLOSED, f"{what} seals a record that is not closed")
        expected = self._seal_refers if self._seal_refers is not None else entry.prev
        if entry.refers != expected:
            raise RecordError(RecordProblem.BAD_REFERENCE, f"{what} seals another head than the record's")
        if delegation in self._sealed_by:
            raise RecordError(RecordProblem.ANSWERED, f"{what}: {delegation} sealed the record already")

    def append(self, entry: RecordEntry) -> None:
        """Add an entry that `check` passed."""
        delegation = self.delegation_of(entry)
        if entry.kind in (EntryKind.SIGN, EntryKind.DECLINE):
            self._answered.add((self._by_hash[entry.refers], delegation))
        if entry.kind is EntryKind.SEAL:
            self._seal_refers = entry.refers
            self._sealed_by.add(delegation)
        self._by_hash[entry.hash()] = entry.seq
        self.log.append(entry)

    # -- where each statement stands -----------------------------------------------------------

    def standing(self) -> dict[int, Standing]:
        """Every text entry's standing, by seq."""
        standings: dict[int, Standing] = {}
        for entry in self.log:
            by = self.delegation_of(entry)
            if entry.kind.has_text:
                standing = Standing(entry.seq, entry.kind, by)
                if entry.kind is EntryKind.OUTCOME:
                    standing.agreed_by.append(by)
                    if entry.refers != ZERO32:
                        standing.amends = self._by_hash[entry.refers]
                standings[entry.seq] = standing
            if entry.kind is EntryKind.SIGN:
                standings[self._by_hash[entry.refers]].agreed_by.append(by)
            if entry.kind is EntryKind.DECLINE:
                outcome = self._by_hash[entry.refers]
                standings[outcome].declined_by.append((by, entry.seq))
                standings[entry.seq].answers = outcome
        for standing in standings.values():
            standing.agreed = (
                standing.kind is EntryKind.OUTCOME and set(standing.agreed_by) == self.delegations
            )
        return standings

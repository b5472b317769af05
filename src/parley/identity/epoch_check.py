"""The per-epoch check: is every member of this key group certified, by the delegation it is
shown under, for the key it holds? Pure: every input is given, `now` too, and it returns a verdict
per member; the client holds its outgoing media unless every verdict is good, and raises an alarm
that names the member and the reason otherwise.

Run on every commit and welcome (and when certificates, revocations or the roster change), with:
- the key group's leaves, as (user id, signature key) pairs from the MLS tree itself
  (`parley.sdk.member.DaveMember.roster.items()`); pairs, not a mapping, so a user id held by two
  leaves shows (dave.py refuses that; davey does not);
- the certificates received for the summit (the server relays them; it cannot make one);
- the pins this device trusts (`parley.identity.pins.verify_pins`) and the revocations it holds;
- the roster, as the server shows it;
- `now`, in Unix seconds.

A member is certified when a certificate for its user id: verifies (signature, summit, validity,
revocation: parley.identity.certificate.verify_certificate); was signed by the key pinned for the
delegation it names (a key pinned for no delegation is `unpinned`; a key pinned for another is
`foreign_delegation`: a delegation vouches only for its own devices); certifies the very key the
leaf carries (a key the server made, or a member re-added with a new key, is `key_mismatch`);
and says what the roster shows of the device (delegation, role, people, language). Certificates
that fail are weighed by how far they got, and the verdict names the reason of the one that got
furthest: a stale certificate beside a forged one reads "key mismatch", not "forged".
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from parley.identity.certificate import DeviceCertificate, verify_certificate
from parley.identity.pins import Pins
from parley.identity.problems import IdentityError, Problem
from parley.identity.revocation import RevocationBook
from parley.protocol.vocabulary import Role

# How far a certificate got, for choosing the reason to show when none passes.
_ORDER = (
    Problem.BAD_SIGNATURE,
    Problem.WRONG_SUMMIT,
    Problem.NOT_YET_VALID,
    Problem.EXPIRED,
    Problem.REVOKED,
    Problem.UNPINNED,
    Problem.FOREIGN_DELEGATION,
    Problem.KEY_MISMATCH,
    Problem.NOT_IN_ROSTER,
    Problem.ROSTER_MISMATCH,
)


@dataclass(frozen=True)
class RosterEntry:
    """A device as the roster shows it (parley.protocol.server_ops.DeviceInfo's fields that a
    certificate vouches for)."""

    delegation_id: str
    delegation: str
    role: Role
    people: tuple[str, ...]
    language: str | None


@dataclass(frozen=True)
class Verdict:
    user_id: int
    delegation: str | None  # the pinned delegation that certifies it (None: not certified)
    problem: Problem | None  # why it is not certified (None: it is)
    text: str  # for people: names the member and the reason

    @property
    def certified(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class EpochCheck:
    verdicts: tuple[Verdict, ...]  # one per user id in the key group, ascending

    @property
    def certified(self) -> bool:
        """Whether every member is certified: the only state in which a device sends media."""
        return all(v.certified for v in self.verdicts)

    @property
    def alarms(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.certified]

    def summary(self) -> str:
        if self.certified:
            return f"all {len(self.verdicts)} members certified"
        return f"{len(self.alarms)} of {len(self.verdicts)} members not certified"


def check_epoch(
    summit_id: str,
    leaves: Iterable[tuple[int, bytes]],
    certificates: Iterable[DeviceCertificate],
    pins: Pins,
    revocations: RevocationBook,
    roster: Mapping[int, RosterEntry],
    now: float,
) -> EpochCheck:
    """Every member of the key group, judged (see the module's docstring)."""
    leaves = list(leaves)
    count = Counter(user_id for user_id, _ in leaves)
    by_user: defaultdict[int, list[DeviceCertificate]] = defaultdict(list)
    for certificate in certificates:
        by_user[certificate.claim.user_id].append(certificate)
    verdicts: dict[int, Verdict] = {}
    for user_id, key in sorted(leaves):
        who = _who(user_id, roster.get(user_id))
        if count[user_id] > 1:
            verdicts[user_id] = Verdict(
                user_id, None, Problem.USER_ID_TWICE, f"{who} is in the key group {count[user_id]} times"
            )
            continue
        verdicts[user_id] = _verdict(
            user_id, key, by_user[user_id], summit_id, pins, revocations, roster.get(user_id), now
        )
    return EpochCheck(tuple(verdicts.values()))


def _who(user_id: int, entry: RosterEntry | None) -> str:
    return f"user {user_id} ({entry.delegation}: {', '.join(entry.people)})" if entry else f"user {user_id}"


def _verdict(
    user_id: int,
    key: bytes,
    candidates: list[DeviceCertificate],
    summit_id: str,
    pins: Pins,
    revocations: RevocationBook,
    entry: RosterEntry | None,
    now: float,
) -> Verdict:
    who = _who(user_id, entry)
    if not candidates:
        return Verdict(user_id, None, Problem.NO_CERTIFICATE, f"{who} has no certificate")
    failures: list[IdentityError] = []
    for certificate in candidates:
        try:
            _judge(certificate, key, summit_id, pins, revocations, entry, now)
        except IdentityError as e:
            failures.append(e)
            continue
        return Verdict(
            user_id,
            certificate.claim.delegation,
            None,
            f"{who} is certified by {certificate.claim.delegation}",
        )
    furthest = max(failures, key=lambda e: _ORDER.index(e.problem))
    return Verdict(user_id, None, furthest.problem, f"{who} is not certified: {furthest}")


def _judge(
    certificate: DeviceCertificate,
    key: bytes,
    summit_id: str,
    pins: Pins,
    revocations: RevocationBook,
    entry: RosterEntry | None,
    now: float,
) -> None:
    verify_certificate(certificate, summit_id, now, revocations)
    claim = certificate.claim
    signer_for = pins.delegation_of(certificate.issuer_fingerprint)
    if signer_for is None:
        raise IdentityError(
            Problem.UNPINNED,
            f"its certificate is signed by a key no delegation of this summit is pinned to"
            f" ({certificate.issuer_fingerprint})",
        )
    if signer_for != claim.delegation:
        raise IdentityError(
            Problem.FOREIGN_DELEGATION,
            f"{signer_for}'s key certifies it as a device of {claim.delegation}: a delegation vouches"
            " only for its own",
        )
    if claim.device_key != key:
        raise IdentityError(
            Problem.KEY_MISMATCH, "its certificate is for another key than the one it holds in the key group"
        )
    if entry is None:
        raise IdentityError(Problem.NOT_IN_ROSTER, "it is certified but the roster does not show it")
    differ = [
        what
        for what, certified, shown in (
            ("delegation", (claim.delegation_id, claim.delegation), (entry.delegation_id, entry.delegation)),
            ("role", claim.role, entry.role),
            ("people", claim.people, entry.people),
            ("language", claim.language, entry.language),
        )
        if certified != shown
    ]
    if differ:
        raise IdentityError(
            Problem.ROSTER_MISMATCH,
            f"the roster shows another {' and '.join(differ)} than its certificate ({claim.describe()})",
        )

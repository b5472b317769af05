"""What a certified device knows of the call's identities, and what it concludes from them: may it
send media now, and which alarms stand (docs/identity.md).

A device runs in certified mode when it was given its own delegation's fingerprint (its link's
`&delegation=`, or its officer). It then holds:
- the pins its own delegation signed (`verify_pins` against that fingerprint), never the
  server's word alone; `pins` alarm while it has none (it can check no one: it sends nothing),
  and when the summit shows other pins than those;
- every certificate and revocation list the server relays (signed: the server can make or alter
  none), and the last roster entry of every device (a leaving member keeps its entry while it
  is still in the key group);
- the key group's leaves, the epoch it is in and that epoch's authenticator.

On every change it runs `check_epoch` over the leaves and keeps the epoch's attestations in an
`AttestationTracker`. It lets media out (`hold` false) only while every member is certified and
every other member has attested this very epoch: a frame sealed before that could reach a ghost,
or a group the server split off. Each alarm is returned once while its condition lasts.

A device that joins by a welcome cannot read the epoch number from it (the GroupInfo is
encrypted to it); it takes the number from the first attestation, signed by a member of its new
group, of its own authenticator. A number learnt that way cannot be wrong to any effect: a lie
would only make this device's own attestation count for nothing, and the others alarm.

Sans-IO: documents in as parsed objects, `now` in Unix seconds, no network and no clock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass

from parley.identity.attestation import (
    ATTESTATION_BOUND,
    AttestationAlarm,
    AttestationState,
    AttestationTracker,
    EpochAttestation,
)
from parley.identity.certificate import DeviceCertificate
from parley.identity.epoch_check import EpochCheck, RosterEntry, Verdict, check_epoch
from parley.identity.fingerprint import Fingerprint
from parley.identity.pins import Pins, PinSet, verify_pins
from parley.identity.problems import IdentityError, Problem
from parley.identity.revocation import RevocationBook, RevocationList
from parley.protocol.codes import AlarmKind
from parley.sdk.membership import Alarm

MAX_CERTIFICATES_PER_USER = 4  # the latest few: a certificate renewed, and one the server made up
MAX_EARLY = 256  # attestations kept while the epoch of a welcome is not known yet

_ATTESTATION_KINDS = {
    AttestationState.SILENT: AlarmKind.ATTESTATION_SILENT,
    AttestationState.MISMATCH: AlarmKind.ATTESTATION_MISMATCH,
}


@dataclass(frozen=True)
class Epoch:
    """An epoch this device entered and must attest: its number and authenticator."""

    number: int
    authenticator: bytes


class Certification:
    def __init__(
        self, summit_id: str, self_id: int, own: Fingerprint, summit_pins: Mapping[str, str]
    ) -> None:
        """`own`: this device's own delegation's fingerprint, the root of all it trusts;
        `summit_pins`: the pins the summit shows (`ready`), compared with the trusted ones, never
        trusted themselves. Call `tick` for the alarms that stand from the start."""
        self.summit_id = summit_id
        self.self_id = self_id
        self.own = own
        self.pins: Pins | None = None
        self._summit_pins = {name: Fingerprint.parse(digits) for name, digits in summit_pins.items()}
        self.revocations = RevocationBook(summit_id)
        self._certificates: dict[int, list[DeviceCertificate]] = {}
        self._roster: dict[int, RosterEntry] = {}
        self._leaves: dict[int, bytes] = {}
        self._authenticator = b""
        self.check: EpochCheck | None = None
        self._tracker = AttestationTracker(summit_id, self_id)
        self._welcomed_at: float | None = None  # in a group by a welcome, its epoch not known yet
        self._early: list[EpochAttestation] = []
        self._to_attest: Epoch | None = None
        self._standing: set[tuple[AlarmKind, int, str]] = set()
        self.alarms: list[Alarm] = []

    # -- inputs --------------------------------------------------------------------------------

    def pin_set(self, pin_set: PinSet, now: float) -> list[Alarm]:
        """A pin set from `ready` or `pins`: trusted only if this device's own delegation signed
        it for this summit, and it is not older. IdentityError otherwise (log it, keep the old)."""
        self.pins = verify_pins(pin_set, self.own, self.summit_id, self.pins)
        return self._conclude(now)

    def certificate(self, certificate: DeviceCertificate, now: float) -> list[Alarm]:
        """Any device's certificate, as relayed: kept (the latest few per user id) and judged at
        every check; one the server made up fails there."""
        held = self._certificates.setdefault(certificate.claim.user_id, [])
        if certificate not in held:
            held.append(certificate)
            del held[:-MAX_CERTIFICATES_PER_USER]
        return self._conclude(now)

    def held(self) -> list[DeviceCertificate]:
        """Every certificate held, as relayed (none of them trusted for that)."""
        return [c for held in self._certificates.values() for c in held]

    def revocation_list(self, revocations: RevocationList, now: float) -> list[Alarm]:
        """A delegation's revocation list: taken only forward (IdentityError otherwise)."""
        self.revocations.accept(revocations)
        return self._conclude(now)

    def roster(self, entries: Mapping[int, RosterEntry], now: float) -> list[Alarm]:
        """The server's roster. A device it no longer shows keeps its last entry while it is still
        in the key group: a departure's removal is committed moments after (the leaving grace of
        parley.sdk.membership judges that delay, not this)."""
        leaving = {u: e for u, e in self._roster.items() if u in self._leaves and u not in entries}
        self._roster = {**leaving, **entries}
        return self._conclude(now)

    def key_group(
        self, leaves: Mapping[int, bytes], epoch: int | None, authenticator: bytes, now: float
    ) -> list[Alarm]:
        """This device entered an epoch: by a commit (`epoch` its number) or a welcome (None: a
        new group, whose number the first attestation of `authenticator` will tell)."""
        self._leaves = dict(leaves)
        self._authenticator = authenticator
        if epoch is not None:
            return self._conclude(now, self._enter(epoch, now))
        self._tracker = AttestationTracker(self.summit_id, self.self_id)  # a new group: new numbers
        self._welcomed_at = now
        early, self._early = self._early, []
        alarms: list[AttestationAlarm] = []
        for attestation in early:
            with contextlib.suppress(IdentityError):  # logged when it came
                alarms += self._take(attestation, now)
        return self._conclude(now, alarms)

    def left_group(self, now: float) -> list[Alarm]:
        """This device is in no group (a reset, or before its first): nothing to check or attest."""
        self._leaves, self._authenticator, self._welcomed_at = {}, b"", None
        self._tracker = AttestationTracker(self.summit_id, self.self_id)
        return self._conclude(now)

    def attestation(self, attestation: EpochAttestation, now: float) -> list[Alarm]:
        """Another member's attestation, as relayed. IdentityError when it counts for nothing
        (another summit, an epoch left, a non-member, a bad signature): log it and drop it."""
        return self._conclude(now, self._take(attestation, now))

    def tick(self, now: float) -> list[Alarm]:
        return self._conclude(now, self._tracker.tick(now))

    def deadline(self, now: float) -> float | None:
        """When a conclusion next changes by time alone: a member turning silent, a certificate
        of a member expiring."""
        times = [self._welcomed_at + ATTESTATION_BOUND] if self._welcomed_at is not None else []
        tracked = self._tracker.deadline(now)
        times += [tracked] if tracked is not None else []
        times += [
            float(c.not_after)
            for u in self._leaves
            for c in self._certificates.get(u, [])
            if c.not_after > now
        ]
        return min((t for t in times if t > now), default=None)

    # -- what it concludes ---------------------------------------------------------------------

    def hold(self, now: float) -> bool:
        """Whether this device must send nothing: it trusts no pins, a member is not certified,
        or a member has not attested this epoch (yet, or at all, or another)."""
        if self.pins is None or (self.check is not None and not self.check.certified):
            return True
        if self._welcomed_at is not None:
            return True
        return any(s is not AttestationState.ATTESTED for s in self._tracker.states(now).values())

    @property
    def in_group(self) -> bool:
        return bool(self._leaves)

    def to_attest(self) -> Epoch | None:
        """The epoch this device entered and has not attested yet (once): sign and send it."""
        epoch, self._to_attest = self._to_attest, None
        return epoch

    def vet(self, user_id: int, key: bytes, now: float) -> Verdict:
        """Whether a device the server proposes to add (its user id and the key of its key
        package) is certified: only such are recognised for proposals."""
        if self.pins is None:
            return Verdict(user_id, None, Problem.UNPINNED, f"user {user_id} cannot be checked: no pins")
        certificates = self._certificates.get(user_id, [])
        check = check_epoch(
            self.summit_id, [(user_id, key)], certificates, self.pins, self.revocations, self._roster, now
        )
        return check.verdicts[0]

    def summary(self) -> str:
        if self.pins is None:
            return "no pins from this device's delegation: members cannot be checked"
        return self.check.summary() if self.check else "not in a key group"

    # -- inside --------------------------------------------------------------------------------

    def _take(self, attestation: EpochAttestation, now: float) -> list[AttestationAlarm]:
        if self._welcomed_at is None and self._tracker.epoch is not None:
            return self._tracker.receive(attestation, now)
        # In no epoch of known number yet: a member's attestation of our authenticator tells it.
        key = self._leaves.get(attestation.user_id)
        ours = attestation.authenticator == self._authenticator and attestation.summit_id == self.summit_id
        if self._welcomed_at is not None and key is not None and ours and attestation.verify(key):
            return self._enter(attestation.epoch, now) + self._tracker.receive(attestation, now)
        if len(self._early) < MAX_EARLY:
            self._early.append(attestation)  # perhaps for the epoch this device learns next
        return []

    def _enter(self, epoch: int, now: float) -> list[AttestationAlarm]:
        self._welcomed_at = None
        self._to_attest = Epoch(epoch, self._authenticator)
        alarms = self._tracker.enter_epoch(epoch, self._authenticator, self._leaves, now)
        early, self._early = self._early, []
        for attestation in early:
            with contextlib.suppress(IdentityError):  # logged when it came
                alarms += self._tracker.receive(attestation, now)
        return alarms

    def _conclude(self, now: float, tracked: list[AttestationAlarm] | None = None) -> list[Alarm]:
        """The check run again; the alarms that are new."""
        self.check = None
        if self.pins is not None and self._leaves:
            self.check = check_epoch(
                self.summit_id,
                self._leaves.items(),
                (c for held in self._certificates.values() for c in held),
                self.pins,
                self.revocations,
                self._roster,
                now,
            )
        standing = self._pins_alarms() + self._welcome_silence(now)
        if self.check is not None:
            standing += [
                Alarm(AlarmKind.UNCERTIFIED, v.user_id, f"{v.text}; this device sends nothing while it stays")
                for v in self.check.alarms
            ]
        new = [a for a in standing if (a.kind, a.user_id, a.text) not in self._standing]
        self._standing = {(a.kind, a.user_id, a.text) for a in standing}
        # The tracker raises each of its alarms once per epoch by itself.
        new += [Alarm(_ATTESTATION_KINDS[a.state], a.user_id, a.text) for a in tracked or []]
        self.alarms += new
        return new

    def _pins_alarms(self) -> list[Alarm]:
        if self.pins is None:
            text = (
                f"no pin set signed by this device's own delegation ({self.own}): no member can be"
                " checked; this device sends nothing"
            )
            return [Alarm(AlarmKind.PINS, self.self_id, text)]
        if dict(self.pins.by_name) != self._summit_pins:
            shown = ", ".join(f"{name}={fp}" for name, fp in sorted(self._summit_pins.items())) or "none"
            text = (
                f"the summit shows other pins ({shown}) than this device's delegation signed: the"
                " organiser or the server changed them; this device checks members against its own"
            )
            return [Alarm(AlarmKind.PINS, self.self_id, text)]
        return []

    def _welcome_silence(self, now: float) -> list[Alarm]:
        """Members of a group this device was welcomed into, none of whom attested its epoch."""
        if self._welcomed_at is None or now - self._welcomed_at < ATTESTATION_BOUND:
            return []
        return [
            Alarm(
                AlarmKind.ATTESTATION_SILENT,
                u,
                f"user {u} has not attested the epoch this device joined within {ATTESTATION_BOUND:g} s:"
                " it may be kept in another group",
            )
            for u in sorted(self._leaves)
            if u != self.self_id
        ]

"""Epoch attestations: every member says, under its own key, which group it is in.

After each commit or welcome a member signs {summit, epoch, epoch authenticator, its user id}
with its DAVE signature key (the certified one) and sends it through the server; every client
requires one from every other member of the epoch it is in. A server that splits the members
into two groups at one epoch number (each half committing a different commit) cannot make one
half's members attest the other's authenticator: a member attesting another authenticator is a
`mismatch`, and one whose attestation does not come (a server dropping those that would show the
split) is `silent` once `ATTESTATION_BOUND` has passed. Either raises an alarm naming the member,
with no one reading a code aloud.

The attestation, signed with ECDSA P-256 SHA-256 (`r || s`, as a device signs identify's proof:
parley.sdk.identity.sign) over `"parley epoch attestation v1" || 0x00 || body`:

    u8     version = 1
    text   summit_id
    u64    epoch
    opaque authenticator   the MLS epoch authenticator (what the group code shows), 1 to 64 bytes
    u64    user_id

`AttestationTracker` is sans-IO: feed it each epoch the device enters (`enter_epoch`) and each
attestation received (`receive`), with `now`; call `tick` at `deadline()`. Attestations for
an epoch this device has not reached yet (a member that processed the commit first) wait for it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from parley.identity.encoding import Reader, SignedDocument, Writer
from parley.identity.problems import IdentityError, Problem
from parley.protocol.fields import MAX_SAFE, verify_key_proof

LABEL = b"parley epoch attestation v1\x00"
MAX_AUTHENTICATOR = 64
# Every member receives a commit at once and its transition executes at most 2 s later
# (the gateway's TRANSITION_TIMEOUT): a member that has not attested by then is not in our group.
ATTESTATION_BOUND = 2.0  # s
MAX_AHEAD = 4  # epochs: attestations further ahead than this are not kept
MAX_WAITING = 1024  # attestations kept for epochs ahead, in all (a server could send any number)

DeviceSigner = Callable[[bytes], bytes]


@dataclass(frozen=True)
class EpochAttestation(SignedDocument):
    KIND = "parley-attestation"

    summit_id: str
    epoch: int
    authenticator: bytes
    user_id: int
    signature: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.epoch < 1 << 64 or not 1 <= self.user_id < MAX_SAFE:
            raise ValueError("an epoch is a u64, a user id from 1 to 2^53 - 1")
        if not 1 <= len(self.authenticator) <= MAX_AUTHENTICATOR:
            raise ValueError(f"an epoch authenticator is 1 to {MAX_AUTHENTICATOR} bytes")
        self.check_signature_size()

    def body(self) -> bytes:
        return _body(self.summit_id, self.epoch, self.authenticator, self.user_id)

    @classmethod
    def read_fields(cls, reader: Reader, signature: bytes) -> EpochAttestation:
        summit_id, epoch = reader.text("summit"), reader.u64("epoch")
        authenticator, user_id = reader.opaque("authenticator"), reader.u64("user id")
        return cls(summit_id, epoch, authenticator, user_id, signature)

    def verify(self, key: bytes) -> bool:
        """Whether the member's DAVE signature key (65-byte P-256 point) made this attestation."""
        try:
            return verify_key_proof(key, LABEL + self.body(), self.signature)
        except ValueError:  # not a point on P-256
            return False


def _body(summit_id: str, epoch: int, authenticator: bytes, user_id: int) -> bytes:
    return (
        Writer()
        .u8(EpochAttestation.VERSION)
        .text(summit_id)
        .u64(epoch)
        .opaque(authenticator)
        .u64(user_id)
        .bytes()
    )


def attest(
    summit_id: str, epoch: int, authenticator: bytes, user_id: int, sign: DeviceSigner
) -> EpochAttestation:
    """This device's attestation of the epoch it just entered, signed by its DAVE key."""
    signature = sign(LABEL + _body(summit_id, epoch, authenticator, user_id))
    return EpochAttestation(summit_id, epoch, authenticator, user_id, signature)


class AttestationState(enum.StrEnum):
    ATTESTED = "attested"  # attested this epoch with this device's authenticator
    AWAITED = "awaited"  # not yet, within the bound
    SILENT = "silent"  # not within the bound: alarm
    MISMATCH = "mismatch"  # attested this epoch with another authenticator: alarm


@dataclass(frozen=True)
class AttestationAlarm:
    state: AttestationState  # SILENT or MISMATCH
    user_id: int
    epoch: int
    text: str

    def __str__(self) -> str:
        return self.text


class AttestationTracker:
    def __init__(self, summit_id: str, self_id: int, bound: float = ATTESTATION_BOUND) -> None:
        self.summit_id = summit_id
        self.self_id = self_id
        self.bound = bound
        self.epoch: int | None = None
        self._authenticator = b""
        self._members: dict[int, bytes] = {}  # this epoch's other members: user id -> key
        self._entered = 0.0
        self._attested: dict[int, set[bytes]] = {}  # user id -> authenticators it signed for this epoch
        self._ahead: list[EpochAttestation] = []  # for epochs not reached yet: unchecked
        self._raised: set[tuple[AttestationState, int, int]] = set()
        self.alarms: list[AttestationAlarm] = []

    # -- inputs --------------------------------------------------------------------------------

    def enter_epoch(
        self, epoch: int, authenticator: bytes, members: Mapping[int, bytes], now: float
    ) -> list[AttestationAlarm]:
        """This device moved to `epoch` (a commit or welcome): its authenticator, and the key group's
        members (user id -> signature key) whose attestations it now requires."""
        self.epoch, self._authenticator, self._entered = epoch, authenticator, now
        self._members = {u: k for u, k in members.items() if u != self.self_id}
        self._attested, self._raised = {}, set()
        waiting = [a for a in self._ahead if a.epoch == epoch]
        self._ahead = [a for a in self._ahead if a.epoch > epoch]
        for attestation in waiting:
            try:
                self._record(attestation)
            except IdentityError:
                continue  # forged or from a non-member: as if never sent (the member stays awaited)
        return self._check(now)

    def receive(self, attestation: EpochAttestation, now: float) -> list[AttestationAlarm]:
        """An attestation relayed by the server. IdentityError if it cannot count (another summit,
        an epoch already left, a non-member, a bad signature): log it and drop it."""
        if attestation.summit_id != self.summit_id:
            raise IdentityError(Problem.WRONG_SUMMIT, f"an attestation for summit {attestation.summit_id}")
        if self.epoch is None or attestation.epoch > self.epoch:
            # Before its first epoch a device cannot tell how far ahead one is (it may join a group
            # at epoch 57 by a welcome that comes after the members' attestations of 57).
            near = self.epoch is None or attestation.epoch - self.epoch <= MAX_AHEAD
            if near and len(self._ahead) < MAX_WAITING:
                self._ahead.append(attestation)  # a forged one cannot crowd out the real one: both wait
            return []
        if attestation.epoch < self.epoch:
            raise IdentityError(Problem.STALE, f"an attestation of epoch {attestation.epoch}, already left")
        self._record(attestation)
        return self._check(now)

    def tick(self, now: float) -> list[AttestationAlarm]:
        return self._check(now)

    def deadline(self, now: float) -> float | None:
        """When a member turns silent if nothing comes, if ever."""
        if self.epoch is None or all(u in self._attested for u in self._members):
            return None
        at = self._entered + self.bound
        return at if at > now else None

    # -- what it shows -------------------------------------------------------------------------

    def states(self, now: float) -> dict[int, AttestationState]:
        return {u: self._state(u, now) for u in sorted(self._members)}

    def _state(self, user_id: int, now: float) -> AttestationState:
        signed = self._attested.get(user_id)
        if signed is not None:
            return AttestationState.ATTESTED if signed == {self._authenticator} else AttestationState.MISMATCH
        return AttestationState.AWAITED if now - self._entered < self.bound else AttestationState.SILENT

    def _record(self, attestation: EpochAttestation) -> None:
        key = self._members.get(attestation.user_id)
        if key is None:
            raise IdentityError(
                Problem.NOT_A_MEMBER,
                f"an attestation from user {attestation.user_id}, not in epoch {self.epoch}",
            )
        if not attestation.verify(key):
            raise IdentityError(
                Problem.BAD_SIGNATURE, f"an attestation for user {attestation.user_id} not signed by its key"
            )
        self._attested.setdefault(attestation.user_id, set()).add(attestation.authenticator)

    def _check(self, now: float) -> list[AttestationAlarm]:
        if self.epoch is None:
            return []
        epoch = self.epoch
        new = []
        for user_id, state in self.states(now).items():
            if (
                state in (AttestationState.SILENT, AttestationState.MISMATCH)
                and (state, user_id, epoch) not in self._raised
            ):
                self._raised.add((state, user_id, epoch))
                new.append(
                    AttestationAlarm(state, user_id, epoch, _alarm_text(state, user_id, epoch, self.bound))
                )
        self.alarms += new
        return new


def _alarm_text(state: AttestationState, user_id: int, epoch: int, bound: float) -> str:
    if state is AttestationState.MISMATCH:
        return f"user {user_id} attests epoch {epoch} of another group than this device's: the call is split"
    return (
        f"user {user_id} has not attested epoch {epoch} within {bound:g} s: it may be kept in another group"
    )

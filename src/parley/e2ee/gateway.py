"""The DAVE gateway for one media group: a sans-IO state machine.

The Parley server is the group's MLS external sender and delivery service, never a member. For
each event (a user connected or left, a binary or JSON op arrived from a user, time passed) the
gateway returns what to send to whom, or a `Refused` value naming the rule the input broke. It has
no sockets, tasks or clock of its own: the caller passes `now` and calls `tick` at `deadline()`.
A refused input leaves the state exactly as it was, and no exception escapes `receive_*`.

What it owns: the users it recognises, each user's key package and status, the outstanding
proposals and who received them, the epoch, which user sits at which leaf, transition ids and
readiness, the choice of the first valid commit per epoch, the per-joiner welcome split,
recovery from invalid commits and welcomes (op 31), and re-creating the group when a single
member remains.

Commits the others cannot use: the server cannot check a commit's membership tag or a welcome's
secrets (they need the group's secrets), so a member can win commit races with commits nobody else
can process, and every such commit makes the others rejoin. The gateway keeps, for the last few
transitions, who committed and who received the commit or a welcome. When enough of those
receivers, never the committer itself, report the transition unusable (op 31), it counts against
the committer; at `UNUSABLE_COMMIT_LIMIT` the gateway removes the committer for good and names it
in `Accepted.expelled`, for the caller to close its connection.

Member statuses, changed only in `_set_status`:

    CONNECTED --key package--> PENDING --commit adds it--> MEMBER
    MEMBER --key package--> PENDING (its old leaf is proposed for removal)
    MEMBER --invalid commit/welcome--> CONNECTED (likewise)
    any --group re-created--> CONNECTED
    any --UNUSABLE_COMMIT_LIMIT of its commits reported unusable--> gone (expelled)
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec

from parley.e2ee import mls_wire
from parley.e2ee.mls_wire import Add, ContentType, FramedPublicMessage, KeyPackage, Remove, SenderType
from parley.e2ee.opcodes import (
    AnnounceCommitTransition,
    ClientDisconnect,
    ClientOp,
    ClientsConnect,
    CommitWelcome,
    ExecuteTransition,
    ExternalSenderPackage,
    InvalidCommitWelcome,
    KeyPackageOp,
    OversizedFrame,
    PrepareEpoch,
    PrepareTransition,
    Proposals,
    ProposalsOperation,
    ReadyForTransition,
    ServerOp,
    UnknownOpcode,
    WelcomeOp,
    decode_client_binary,
    decode_client_json,
)
from parley.e2ee.tls import DecodeError
from parley.protocol.dave_ops import DaveDeviceOp

PROTOCOL_VERSION = 1
# How long the gateway waits for every member's ready_for_transition before executing anyway: a
# slow or silent member must not hold the others on an old key (DAVE's gateway uses about as much).
TRANSITION_TIMEOUT = 2.0
_MAX_TRANSITION_ID = 0xFFFF
# After how many unusable commits the gateway removes their committer. One can be an accident (a
# client's bug, a state it lost); each one costs every other member a rejoin, so a second from the
# same device in one stay is taken for an attack.
UNUSABLE_COMMIT_LIMIT = 2
# How many receivers must report a transition unusable (and more than half of those who read its
# commit, or of those welcomed by it) before it counts against its committer. One member's word is
# not enough: a member could report a good commit to have an honest committer removed.
WITNESSES_NEEDED = 2
# Transitions whose reports still count. Reports come within moments of a transition; a group that
# is re-created commits a few times in a row as its members come back.
_KEPT_DELIVERIES = 16
_GATEWAY_IDENTITY = b"parley-gateway"


class Refusal(enum.Enum):
    """Why an input was refused; the caller turns it into an error op for the sender."""

    OVERSIZED = "oversized"
    MALFORMED = "malformed"
    UNKNOWN_OPCODE = "unknown_opcode"
    UNKNOWN_USER = "unknown_user"
    UNSUPPORTED_KEY_PACKAGE = "unsupported_key_package"
    BAD_SIGNATURE = "bad_signature"
    IDENTITY_MISMATCH = "identity_mismatch"
    WRONG_GROUP = "wrong_group"
    WRONG_EPOCH = "wrong_epoch"
    LATE_COMMIT = "late_commit"
    NOT_A_COMMIT = "not_a_commit"
    NOT_A_MEMBER = "not_a_member"
    NOTHING_TO_COMMIT = "nothing_to_commit"
    INLINE_PROPOSAL = "inline_proposal"
    MISSING_PROPOSAL = "missing_proposal"
    UNKNOWN_PROPOSAL = "unknown_proposal"
    IDENTITY_CHANGED = "identity_changed"
    WELCOME_MISMATCH = "welcome_mismatch"
    UNKNOWN_TRANSITION = "unknown_transition"


@dataclass(frozen=True)
class Send:
    to: int  # user id
    op: ServerOp


@dataclass(frozen=True)
class Expulsion:
    """A user the gateway removed for good (already out of the group): the caller closes its
    connection, tells it why, and keeps a record."""

    user_id: int
    unusable_commits: int


@dataclass(frozen=True)
class Accepted:
    sends: tuple[Send, ...] = ()
    expelled: tuple[Expulsion, ...] = ()


@dataclass(frozen=True)
class Refused:
    reason: Refusal
    detail: str


Outcome = Accepted | Refused


def _refused_input(error: DecodeError) -> Refused:
    if isinstance(error, OversizedFrame):
        return Refused(Refusal.OVERSIZED, str(error))
    if isinstance(error, UnknownOpcode):
        return Refused(Refusal.UNKNOWN_OPCODE, str(error))
    return Refused(Refusal.MALFORMED, str(error))


class MemberStatus(enum.Enum):
    CONNECTED = "connected"
    PENDING = "pending"
    MEMBER = "member"


@dataclass
class _User:
    user_id: int
    status: MemberStatus = MemberStatus.CONNECTED
    key_package: KeyPackage | None = None
    leaf: int | None = None
    signature_key: bytes | None = None  # the key this user's leaf was added with
    identified_key: bytes | None = None  # the key its device identified with, if the caller bound one
    unusable_commits: int = 0  # its commits the others reported unusable (see _Delivery)


@dataclass
class _Proposal:
    ref: bytes
    message: bytes
    body: Add | Remove
    user_id: int
    recipients: set[int] = field(default_factory=set)


@dataclass
class _Delivery:
    """Who committed a transition and who received it: what reports of it (op 31) are weighed by."""

    committer: int
    readers: frozenset[int]  # were sent the commit (op 29); the committer is not among them
    joiners: frozenset[int]  # were sent a welcome (op 30)
    reports: set[int] = field(default_factory=set)
    counted: bool = False

    def report(self, user_id: int) -> bool:
        """Take a receiver's report; True the first time the transition proves unusable."""
        if user_id not in self.readers | self.joiners:
            return False  # the committer, or someone the transition never reached
        self.reports.add(user_id)
        if self.counted:
            return False
        self.counted = any(
            len(said := self.reports & witnesses) >= WITNESSES_NEEDED and 2 * len(said) > len(witnesses)
            for witnesses in (self.readers, self.joiners)
        )
        return self.counted


@dataclass
class _Transition:
    transition_id: int
    awaiting: set[int]
    members: frozenset[int]
    deadline: float


@dataclass(frozen=True)
class GatewayView:
    """A comparable snapshot of the gateway's state, for callers that display it and for tests."""

    epoch: int
    established: bool
    statuses: tuple[tuple[int, str], ...]
    leaves: tuple[int | None, ...]
    proposals: tuple[tuple[bytes, int, frozenset[int]], ...]
    transition: tuple[int, frozenset[int]] | None
    next_transition_id: int


class DaveGateway:
    """One DAVE group (one channel id). The server calls it; nothing inside waits or sends."""

    def __init__(self, channel_id: int, signing_key: ec.EllipticCurvePrivateKey | None = None) -> None:
        if not 0 <= channel_id < 1 << 64:
            raise ValueError("channel_id must be an unsigned 64-bit integer")
        self.channel_id = channel_id
        self.group_id = channel_id.to_bytes(8, "big")
        self._key = signing_key or ec.generate_private_key(ec.SECP256R1())
        self.external_sender = mls_wire.external_sender(
            mls_wire.public_key_bytes(self._key), _GATEWAY_IDENTITY
        )
        self._users: dict[int, _User] = {}
        self._epoch = 0
        self._established = False
        self._leaves: list[int | None] = []
        self._proposals: list[_Proposal] = []
        self._transition: _Transition | None = None
        self._next_transition_id = 1
        self._deliveries: dict[int, _Delivery] = {}  # by transition id, the last _KEPT_DELIVERIES

    # -- views -----------------------------------------------------------------------------------

    @property
    def epoch(self) -> int:
        return self._epoch

    def status(self, user_id: int) -> MemberStatus | None:
        user = self._users.get(user_id)
        return user.status if user else None

    def leaf_of(self, user_id: int) -> int | None:
        user = self._users.get(user_id)
        return user.leaf if user else None

    def members(self) -> frozenset[int]:
        return frozenset(u.user_id for u in self._users.values() if u.status is MemberStatus.MEMBER)

    def view(self) -> GatewayView:
        t = self._transition
        return GatewayView(
            epoch=self._epoch,
            established=self._established,
            statuses=tuple(sorted((u.user_id, u.status.value) for u in self._users.values())),
            leaves=tuple(self._leaves),
            proposals=tuple((p.ref, p.user_id, frozenset(p.recipients)) for p in self._proposals),
            transition=(t.transition_id, frozenset(t.awaiting)) if t else None,
            next_transition_id=self._next_transition_id,
        )

    def deadline(self) -> float | None:
        """When the caller must call `tick`: the pending transition's timeout."""
        return self._transition.deadline if self._transition else None

    # -- events from the server ------------------------------------------------------------------

    def connect(self, user_id: int, now: float, identified_key: bytes | None = None) -> Accepted:
        """A user joined the media session: tell the others, hand it the external sender.

        `identified_key`: the signature key the user's device identified with; only key packages
        signed by it are proposed, so the key a device showed at the door is the key in its leaf.
        """
        if not 0 <= user_id < 1 << 64:
            raise ValueError("user_id must be an unsigned 64-bit integer")
        if user_id in self._users:
            raise ValueError(f"user {user_id} is already connected; call leave first")
        others = tuple(self._users)
        self._users[user_id] = _User(user_id, identified_key=identified_key)
        sends = [Send(o, ClientsConnect((user_id,))) for o in others]
        if others:
            sends.append(Send(user_id, ClientsConnect(others)))
        sends.append(Send(user_id, ExternalSenderPackage(self.external_sender)))
        return Accepted(tuple(sends))

    def leave(self, user_id: int, now: float) -> Accepted:
        """A user disconnected or was removed: revoke its add or propose its removal."""
        user = self._users.pop(user_id, None)
        if user is None:
            return Accepted()
        sends = [Send(o, ClientDisconnect(user_id)) for o in self._users]
        sends += self._drop_user(user)
        return Accepted(tuple(sends))

    def tick(self, now: float) -> Accepted:
        """Execute the pending transition if its readiness timeout has passed."""
        if self._transition and now >= self._transition.deadline:
            return Accepted(tuple(self._execute()))
        return Accepted()

    def receive_binary(self, user_id: int, frame: bytes, now: float) -> Outcome:
        """A binary op (26 key package, 28 commit+welcome) from the user's connection."""
        return self._receive(user_id, lambda: decode_client_binary(frame), now)

    def receive_json(self, user_id: int, message: DaveDeviceOp, now: float) -> Outcome:
        """A JSON op (23 ready for transition, 31 invalid commit/welcome) from the user's connection."""
        return self._receive(user_id, lambda: decode_client_json(message), now)

    def _receive(self, user_id: int, decode: Callable[[], ClientOp], now: float) -> Outcome:
        user = self._users.get(user_id)
        if user is None:
            return Refused(Refusal.UNKNOWN_USER, f"user {user_id} is not connected to this group")
        try:
            op = decode()
        except DecodeError as e:
            return _refused_input(e)
        if isinstance(op, KeyPackageOp):
            return self._on_key_package(user, op.key_package, now)
        if isinstance(op, CommitWelcome):
            return self._on_commit_welcome(user, op, now)
        if isinstance(op, ReadyForTransition):
            return self._on_ready_for_transition(user, op)
        return self._on_invalid_commit_welcome(user, op, now)

    # -- opcode handlers -------------------------------------------------------------------------

    def _on_key_package(self, user: _User, kp: KeyPackage, now: float) -> Outcome:
        """Op 26: validate, then propose adding the user (replacing any earlier key package)."""
        if kp.cipher_suite != mls_wire.CIPHERSUITE:
            return Refused(Refusal.UNSUPPORTED_KEY_PACKAGE, f"cipher suite {kp.cipher_suite} is not 2")
        leaf = kp.leaf_node
        if (leaf.not_before, leaf.not_after) != (0, mls_wire.LIFETIME_MAX):
            return Refused(Refusal.UNSUPPORTED_KEY_PACKAGE, "lifetime must be 0 .. 2^64-1 in DAVE")
        if leaf.identity != user.user_id.to_bytes(8, "big"):
            return Refused(Refusal.IDENTITY_MISMATCH, "credential identity is not this connection's user id")
        if user.identified_key is not None and leaf.signature_key != user.identified_key:
            return Refused(Refusal.IDENTITY_MISMATCH, "not the signature key this device identified with")
        if not kp.signatures_valid():
            return Refused(Refusal.BAD_SIGNATURE, "key package or leaf node signature does not verify")
        sends: list[Send] = []
        if user.status is MemberStatus.PENDING:
            sends += self._revoke_add(user.user_id)
        elif user.status is MemberStatus.MEMBER:
            sends += self._remove_leaf(user)
            if not self._established:
                # Removing its old leaf re-created the group: prepare_epoch already asked the user
                # for a fresh key package, made after its reset, so this one is of no further use.
                return Accepted(tuple(sends))
        user.key_package = kp
        self._set_status(user, MemberStatus.PENDING)
        return Accepted(tuple(sends + self._propose_add(user)))

    def _on_commit_welcome(self, user: _User, op: CommitWelcome, now: float) -> Outcome:
        """Op 28: accept the first valid commit for the epoch; announce it and send the welcomes."""
        commit = op.commit
        if commit.group_id != self.group_id:
            return Refused(Refusal.WRONG_GROUP, "commit is for another group")
        if commit.epoch < self._epoch:
            return Refused(Refusal.LATE_COMMIT, f"a commit for epoch {commit.epoch} was already accepted")
        if commit.epoch != self._epoch:
            return Refused(
                Refusal.WRONG_EPOCH, f"commit is for epoch {commit.epoch}; the group is at {self._epoch}"
            )
        if commit.content_type is not ContentType.COMMIT or not isinstance(commit.body, mls_wire.Commit):
            return Refused(Refusal.NOT_A_COMMIT, "op 28 must carry a commit")
        if commit.sender_type is not SenderType.MEMBER:
            return Refused(Refusal.NOT_A_MEMBER, "commit sender is not a member")
        if self._established:
            if user.status is not MemberStatus.MEMBER or commit.sender_index != user.leaf:
                return Refused(Refusal.NOT_A_MEMBER, "commit sender does not hold that leaf in the group")
        elif user.status is not MemberStatus.PENDING or commit.sender_index != 0:
            return Refused(Refusal.NOT_A_MEMBER, "the first commit must come from a pending member at leaf 0")
        body = commit.body
        if body.inline_proposals:
            return Refused(Refusal.INLINE_PROPOSAL, "commits must reference proposals, not carry them")
        expected = {p.ref: p for p in self._proposals if user.user_id in p.recipients}
        if not expected:
            return Refused(Refusal.NOTHING_TO_COMMIT, "no proposals are outstanding for this member")
        refs = body.proposal_refs
        if len(set(refs)) != len(refs) or not set(refs) <= expected.keys():
            return Refused(Refusal.UNKNOWN_PROPOSAL, "commit references a proposal that is not outstanding")
        if set(refs) != expected.keys():
            return Refused(Refusal.MISSING_PROPOSAL, "commit leaves out an outstanding proposal")
        signature_key = user.signature_key if self._established else self._pending_key(user)
        if body.path_leaf is not None and (
            body.path_leaf.signature_key != signature_key
            or body.path_leaf.identity != user.user_id.to_bytes(8, "big")
        ):
            return Refused(Refusal.IDENTITY_CHANGED, "the commit's leaf changes its credential or key")
        if body.path_leaf is not None and not body.path_leaf.verify(self.group_id, commit.sender_index):
            return Refused(Refusal.BAD_SIGNATURE, "the commit's leaf node signature does not verify")
        chosen = [expected[r] for r in refs]
        joiners = [p for p in chosen if isinstance(p.body, Add)]
        welcome_refs = {ref for ref, _ in op.welcome.secrets} if op.welcome else set()
        wanted = {p.body.key_package.ref() for p in joiners if isinstance(p.body, Add)}
        if op.welcome is not None and op.welcome.cipher_suite != mls_wire.CIPHERSUITE:
            return Refused(Refusal.WELCOME_MISMATCH, "welcome is not for cipher suite 2")
        if welcome_refs != wanted or (joiners and op.welcome is None):
            return Refused(Refusal.WELCOME_MISMATCH, "welcome secrets do not match the added key packages")
        return Accepted(tuple(self._accept_commit(user, commit, chosen, op, now)))

    def _on_ready_for_transition(self, user: _User, op: ReadyForTransition) -> Outcome:
        t = self._transition
        if t is None or op.transition_id != t.transition_id:
            return Refused(Refusal.UNKNOWN_TRANSITION, f"transition {op.transition_id} is not pending")
        t.awaiting.discard(user.user_id)
        if t.awaiting:
            return Accepted()
        return Accepted(tuple(self._execute()))

    def _on_invalid_commit_welcome(self, user: _User, op: InvalidCommitWelcome, now: float) -> Outcome:
        """Op 31: the user could not process a commit or welcome; remove it, await a new key package.
        The report is also weighed against the transition's committer (see `_Delivery`)."""
        if self._transition:
            self._transition.awaiting.discard(user.user_id)
        sends: list[Send] = []
        if user.status is MemberStatus.MEMBER:
            sends += self._remove_leaf(user)
        elif user.status is MemberStatus.PENDING:
            sends += self._revoke_add(user.user_id)
        if user.status is not MemberStatus.CONNECTED:
            user.key_package = None
            self._set_status(user, MemberStatus.CONNECTED)
        if self._transition and not self._transition.awaiting:
            sends += self._execute()
        delivery = self._deliveries.get(op.transition_id)
        if delivery is None or not delivery.report(user.user_id):
            return Accepted(tuple(sends))
        committer = self._users.get(delivery.committer)
        if committer is None:
            return Accepted(tuple(sends))
        committer.unusable_commits += 1
        if committer.unusable_commits < UNUSABLE_COMMIT_LIMIT:
            return Accepted(tuple(sends))
        sends += self.leave(committer.user_id, now).sends
        return Accepted(tuple(sends), (Expulsion(committer.user_id, committer.unusable_commits),))

    # -- state changes ---------------------------------------------------------------------------

    def _set_status(self, user: _User, status: MemberStatus) -> None:
        user.status = status
        if status is not MemberStatus.MEMBER:
            user.leaf = None

    def _pending_key(self, user: _User) -> bytes | None:
        return user.key_package.leaf_node.signature_key if user.key_package else None

    def _new_proposal(self, body: Add | Remove, user_id: int, recipients: set[int]) -> _Proposal:
        msg = mls_wire.external_proposal(self._key, self.group_id, self._epoch, body)
        proposal = _Proposal(msg.proposal_ref(), msg.encoded, body, user_id, recipients)
        self._proposals.append(proposal)
        return proposal

    def _append(self, proposal: _Proposal, to: set[int]) -> list[Send]:
        op = Proposals(ProposalsOperation.APPEND, (proposal.message,))
        return [Send(r, op) for r in sorted(to)]

    def _propose_add(self, user: _User) -> list[Send]:
        assert user.key_package is not None
        if self._established:
            recipients = set(self.members())
            proposal = self._new_proposal(Add(user.key_package), user.user_id, recipients)
            return self._append(proposal, recipients)
        # Initial group: every pending user has a local group and commits the others' adds.
        # The newcomer also receives the adds already in flight for the users pending before it.
        sends: list[Send] = []
        for earlier in self._proposals:
            if isinstance(earlier.body, Add):
                earlier.recipients.add(user.user_id)
                sends += self._append(earlier, {user.user_id})
        pending = {u.user_id for u in self._users.values() if u.status is MemberStatus.PENDING} - {
            user.user_id
        }
        proposal = self._new_proposal(Add(user.key_package), user.user_id, pending)
        return sends + self._append(proposal, pending)

    def _revoke_add(self, user_id: int) -> list[Send]:
        """Withdraw an outstanding add for the user, and its place among the initial committers."""
        sends: list[Send] = []
        for p in list(self._proposals):
            if p.user_id == user_id and isinstance(p.body, Add):
                self._proposals.remove(p)
                op = Proposals(ProposalsOperation.REVOKE, (p.ref,))
                sends += [Send(r, op) for r in sorted(p.recipients) if r in self._users]
        if not self._established:
            for p in self._proposals:
                p.recipients.discard(user_id)
        return sends

    def _remove_leaf(self, user: _User) -> list[Send]:
        """Propose removing the user's leaf, or re-create the group if one member would remain."""
        assert user.leaf is not None
        leaf = user.leaf
        self._set_status(user, MemberStatus.CONNECTED)
        return self._propose_remove(leaf, user.user_id)

    def _propose_remove(self, leaf: int, user_id: int) -> list[Send]:
        remaining = self.members()
        if len(remaining) <= 1:
            return self._reset_group()
        proposal = self._new_proposal(Remove(leaf), user_id, set(remaining))
        return self._append(proposal, set(remaining))

    def _drop_user(self, user: _User) -> list[Send]:
        """The user is gone: withdraw its add, propose removing its leaf."""
        sends = self._revoke_add(user.user_id)
        if self._transition:
            self._transition.awaiting.discard(user.user_id)
        if user.status is MemberStatus.MEMBER and user.leaf is not None:
            sends += self._propose_remove(user.leaf, user.user_id)
        elif not self._users:
            sends += self._reset_group()
        if self._transition and not self._transition.awaiting:
            sends += self._execute()
        return sends

    def _reset_group(self) -> list[Send]:
        """Forget the group; every connected user starts again with a new key package.

        Used when a single member would remain (no member keeps sole control of a group, as DAVE
        requires). The sole member executes the reset at once (transition 0).
        """
        sole = self.members()
        self._epoch = 0
        self._established = False
        self._leaves = []
        self._proposals = []
        self._transition = None
        for u in self._users.values():
            u.key_package = None
            u.signature_key = None
            self._set_status(u, MemberStatus.CONNECTED)
        sends = [Send(u, PrepareEpoch(1, PROTOCOL_VERSION)) for u in sorted(self._users)]
        sends += [Send(u, PrepareTransition(0, PROTOCOL_VERSION)) for u in sorted(sole) if u in self._users]
        return sends

    def _accept_commit(
        self,
        committer: _User,
        commit: FramedPublicMessage,
        chosen: list[_Proposal],
        op: CommitWelcome,
        now: float,
    ) -> list[Send]:
        sends: list[Send] = []
        if self._transition:  # a newer commit supersedes a transition still waiting for stragglers
            sends += self._execute()
        if self._established:
            previous = set(self.members())
        else:
            previous = {committer.user_id}
            self._leaves = [committer.user_id]
            committer.signature_key = self._pending_key(committer)
            committer.key_package = None
            self._set_status(committer, MemberStatus.MEMBER)
            committer.leaf = 0
        for p in chosen:  # MLS applies removes before adds, adds in commit order
            if isinstance(p.body, Remove):
                self._leaves[p.body.removed] = None
        joiners: list[tuple[_User, bytes]] = []
        for p in chosen:
            if isinstance(p.body, Add):
                joiner = self._users[p.user_id]
                joiners.append((joiner, p.body.key_package.ref()))
                joiner.signature_key = p.body.key_package.leaf_node.signature_key
                joiner.key_package = None
                self._set_status(joiner, MemberStatus.MEMBER)
                joiner.leaf = self._place(joiner.user_id)
        while self._leaves and self._leaves[-1] is None:
            self._leaves.pop()
        # Every outstanding proposal went to every member, so the commit consumed them all; in the
        # initial phase the adds the winner did not need (its own) die with the pending groups.
        self._proposals = []
        self._epoch += 1
        self._established = True
        transition_id = self._allocate_transition_id()
        # Members before the commit process it; users it removed do not get it (they keep their
        # old keys until those expire), joiners get their welcome instead.
        announced = {u for u in previous if u in self._users}
        announce = AnnounceCommitTransition(transition_id, commit.encoded)
        sends += [Send(u, announce) for u in sorted(announced)]
        assert op.welcome is not None or not joiners
        for joiner, ref in joiners:
            assert op.welcome is not None
            sends.append(Send(joiner.user_id, WelcomeOp(transition_id, op.welcome.for_member(ref).encode())))
        members = frozenset(announced | {j.user_id for j, _ in joiners})
        self._transition = _Transition(transition_id, set(members), members, now + TRANSITION_TIMEOUT)
        self._remember(
            _Delivery(
                committer.user_id,
                frozenset(announced - {committer.user_id}),
                frozenset(j.user_id for j, _ in joiners),
            ),
            transition_id,
        )
        return sends

    def _remember(self, delivery: _Delivery, transition_id: int) -> None:
        self._deliveries.pop(transition_id, None)  # an id used again after wrapping around
        self._deliveries[transition_id] = delivery
        while len(self._deliveries) > _KEPT_DELIVERIES:
            del self._deliveries[next(iter(self._deliveries))]

    def _place(self, user_id: int) -> int:
        """The leftmost blank leaf, or a new one at the right edge (RFC 9420 12.1.1)."""
        for index, occupant in enumerate(self._leaves):
            if occupant is None:
                self._leaves[index] = user_id
                return index
        self._leaves.append(user_id)
        return len(self._leaves) - 1

    def _allocate_transition_id(self) -> int:
        """Transition ids are u16; 0 means "execute at once" and is never allocated."""
        transition_id = self._next_transition_id
        self._next_transition_id = transition_id % _MAX_TRANSITION_ID + 1
        return transition_id

    def _execute(self) -> list[Send]:
        t = self._transition
        assert t is not None
        self._transition = None
        return [Send(u, ExecuteTransition(t.transition_id)) for u in sorted(t.members) if u in self._users]

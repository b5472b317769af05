"""A participant's side of DAVE, over dave.py (Discord's libdave): sans-IO, like the gateway.

Feed `receive` each op the gateway sends and send back what it returns; `encrypt` and `decrypt`
transform media frames with the current keys. The member holds its own keys only: the MLS group
state, its signature key, the per-sender media key ratchets.

It follows the DAVE opcode rules, with Parley's choices where DAVE leaves room:
- It never enters passthrough mode. A transition to protocol version 0 (unencrypted) is refused
  and raised as an alarm: a server must not be able to switch encryption off.
- Until its first group is established and executed, and after a group reset, it has no sending
  key and `encrypt` returns None: frames are dropped rather than sent in the clear or on a key
  a departed member still holds.
- A roster entry for a user the server never announced (clients_connect) raises an alarm: that
  is how a ghost member slipped in by a hostile gateway would look from here.
- A certified device vets each device the gateway proposes to add (`vet_add`: its user id and
  the key of its key package): one that fails is not recognised, so this member commits no
  group holding it (parley.sdk.certification).
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable

import dave

from parley.e2ee.mls_wire import Add, FramedPublicMessage
from parley.e2ee.opcodes import (
    AnnounceCommitTransition,
    ClientDisconnect,
    ClientsConnect,
    ExecuteTransition,
    ExternalSenderPackage,
    InvalidCommitWelcome,
    Op,
    PrepareEpoch,
    PrepareTransition,
    Proposals,
    ProposalsOperation,
    ReadyForTransition,
    ServerOp,
    WelcomeOp,
    decode_server_binary,
    decode_server_json,
)
from parley.e2ee.tls import DecodeError
from parley.protocol.dave_ops import DaveDeviceOp, DaveServerOp
from parley.sdk.codes import group_code, pairwise_code

PROTOCOL_VERSION = 1
FINGERPRINT_VERSION = 0
AUDIO_SSRC = 1
VIDEO_SSRC = 2

ClientMessage = bytes | DaveDeviceOp


class Media(enum.Enum):
    """What a frame carries; DAVE keeps codec-specific bytes in the clear (Opus: 1, VP8: 1 or 10)."""

    AUDIO = "audio"  # Opus
    VIDEO = "video"  # VP8


_MEDIA_TYPE = {Media.AUDIO: dave.MediaType.audio, Media.VIDEO: dave.MediaType.video}
_SSRC = {Media.AUDIO: AUDIO_SSRC, Media.VIDEO: VIDEO_SSRC}


class MemberState(enum.Enum):
    WAITING = "waiting"  # no external sender yet
    PENDING = "pending"  # key package sent; not in a group
    JOINED = "joined"  # in a group; its keys are in use once the transition executes


class DaveMember:
    """One participant (one user id) in one DAVE group (one channel id)."""

    def __init__(
        self,
        user_id: int,
        channel_id: int,
        signature_key: dave.SignatureKeyPair | None = None,
        on_alarm: Callable[[str], None] | None = None,
    ) -> None:
        self.user_id = user_id
        self.channel_id = channel_id
        self._key = signature_key or dave.SignatureKeyPair.generate(PROTOCOL_VERSION)
        self._on_alarm = on_alarm
        self._session = dave.Session()
        # libdave's media objects are used from aiortc's encoder and decoder threads (frames) and
        # changed on the event loop's (transitions): one thread inside them at a time. Two frames
        # encrypted at once from two encoder threads, one of them logging through dave.py's log
        # sink, once deadlocked the whole process.
        self._media_lock = threading.Lock()
        self._encryptor = dave.Encryptor()
        self._encryptor.assign_ssrc_to_codec(AUDIO_SSRC, dave.Codec.opus)
        self._encryptor.assign_ssrc_to_codec(VIDEO_SSRC, dave.Codec.vp8)
        self._decryptors: dict[tuple[int, Media], dave.Decryptor] = {}
        self._external_sender: bytes | None = None
        self._recognized: set[int] = set()
        self._queued_refs: set[bytes] = set()
        self._pending_transition: int | None = None
        self.state = MemberState.WAITING
        # libdave reports roster *changes* against its own last roster, which survives a reset:
        # this mirrors it, and `roster` shows it only while we are in a group.
        self._mls_roster: dict[int, bytes] = {}
        self.alarms: list[str] = []
        self.executed_transitions: list[int] = []
        # How many epochs this member entered (commits and welcomes), and the number of the
        # current one when a commit told it (a welcome does not: its GroupInfo is encrypted).
        self.entered = 0
        self.epoch: int | None = None
        # Whether a proposed joiner (user id, key-package key) may be committed; None: any the
        # server announced. Refused ones stay unrecognised until a proposal of theirs passes.
        self.vet_add: Callable[[int, bytes], bool] | None = None
        self._refused_adds: set[int] = set()

    # -- wire level --------------------------------------------------------------------------

    def receive_wire(self, message: bytes | DaveServerOp) -> list[ClientMessage]:
        """A server binary frame or JSON op in; the client messages to send back out."""
        op: ServerOp
        op = decode_server_binary(message)[1] if isinstance(message, bytes) else decode_server_json(message)
        return self.receive(op)

    def receive(self, op: ServerOp) -> list[ClientMessage]:
        if isinstance(op, ClientsConnect):
            self._recognized.update(op.user_ids)
            return []
        if isinstance(op, ClientDisconnect):
            self._recognized.discard(op.user_id)
            return []
        if isinstance(op, ExternalSenderPackage):
            return self._on_external_sender_package(op)
        if isinstance(op, Proposals):
            return self._on_proposals(op)
        if isinstance(op, AnnounceCommitTransition):
            return self._on_announce_commit_transition(op)
        if isinstance(op, WelcomeOp):
            return self._on_welcome(op)
        if isinstance(op, ExecuteTransition):
            self._execute(op.transition_id)
            return []
        if isinstance(op, PrepareEpoch):
            return self._on_prepare_epoch(op)
        return self._on_prepare_transition(op)

    # -- opcode handlers (DAVE numbering) ----------------------------------------------------

    def _on_external_sender_package(self, op: ExternalSenderPackage) -> list[ClientMessage]:
        """Op 25: start a pending group under this gateway and send our key package (op 26)."""
        self._external_sender = op.external_sender
        return self._restart()

    def _on_proposals(self, op: Proposals) -> list[ClientMessage]:
        """Op 27: queue or revoke the gateway's proposals and commit whatever is queued (op 28)."""
        if self.state is MemberState.WAITING:
            return []
        if op.operation is ProposalsOperation.APPEND:
            proposals = [FramedPublicMessage.parse(m) for m in op.items]
            self._queued_refs.update(p.proposal_ref() for p in proposals)
            self._vet(proposals)
        else:
            self._queued_refs.difference_update(op.items)
        recognized = {str(u) for u in self._recognized - self._refused_adds}
        # libdave takes the operation byte and the vector: op 27's payload exactly.
        commit_welcome = self._session.process_proposals(op.payload(), recognized)
        if commit_welcome is None or not self._queued_refs:
            return []
        return [bytes([Op.COMMIT_WELCOME]) + commit_welcome]

    def _vet(self, proposals: list[FramedPublicMessage]) -> None:
        if self.vet_add is None:
            return
        for proposal in proposals:
            if not isinstance(proposal.body, Add):
                continue
            leaf = proposal.body.key_package.leaf_node
            user_id = int.from_bytes(leaf.identity, "big")
            if self.vet_add(user_id, leaf.signature_key):
                self._refused_adds.discard(user_id)
            else:
                self._refused_adds.add(user_id)

    def _on_announce_commit_transition(self, op: AnnounceCommitTransition) -> list[ClientMessage]:
        """Op 29: move to the next epoch; ready once the receiving side is prepared (op 23)."""
        result = self._session.process_commit(op.commit)
        if result is dave.RejectType.ignored:
            return []
        if result is dave.RejectType.failed:
            return self._invalid(op.transition_id)
        try:
            self.epoch = FramedPublicMessage.parse(op.commit).epoch + 1
        except DecodeError:  # libdave took it, so it is a PublicMessage; but never guess
            self.epoch = None
        return self._joined(op.transition_id, result)

    def _on_welcome(self, op: WelcomeOp) -> list[ClientMessage]:
        """Op 30: join an existing group (or the one just created)."""
        recognized = {str(u) for u in self._recognized | {self.user_id}}
        result = self._session.process_welcome(op.welcome, recognized)
        if result is None:
            return self._invalid(op.transition_id)
        self.epoch = None
        return self._joined(op.transition_id, result)

    def _on_prepare_epoch(self, op: PrepareEpoch) -> list[ClientMessage]:
        """Op 24: epoch 1 means the group is being re-created: start over with a new key package."""
        if op.epoch != 1 or self._external_sender is None:
            return []
        return self._restart()

    def _on_prepare_transition(self, op: PrepareTransition) -> list[ClientMessage]:
        """Op 21: version 0 would switch encryption off; Parley members refuse it."""
        if op.protocol_version == 0:
            self._alarm("the server asked to turn end-to-end encryption off; refused")
            return []
        if op.transition_id == 0:
            self._execute(0)
            return []
        return [ReadyForTransition(op.transition_id).to_json()]

    # -- state -------------------------------------------------------------------------------

    def _restart(self) -> list[ClientMessage]:
        """A fresh pending group and key package; nothing is sent with the old keys after this."""
        assert self._external_sender is not None
        self._session.init(PROTOCOL_VERSION, self.channel_id, str(self.user_id), self._key)
        self._session.set_external_sender(self._external_sender)
        key_package = self._session.get_marshalled_key_package()
        with self._media_lock:
            self._encryptor.set_key_ratchet(None)
            self._decryptors.clear()
        self._queued_refs.clear()
        self._pending_transition = None
        self.state = MemberState.PENDING
        if key_package is None:
            raise RuntimeError("libdave produced no key package")
        return [bytes([Op.KEY_PACKAGE]) + key_package]

    def _invalid(self, transition_id: int) -> list[ClientMessage]:
        """Tell the gateway (op 31), then rejoin with a new key package."""
        return [InvalidCommitWelcome(transition_id).to_json(), *self._restart()]

    def _joined(self, transition_id: int, changes: dict[int, list[int]]) -> list[ClientMessage]:
        for user_id, key in changes.items():
            if key:
                self._mls_roster[user_id] = bytes(key)
            else:
                self._mls_roster.pop(user_id, None)
        ghosts = set(self._mls_roster) - self._recognized - {self.user_id}
        if ghosts:
            self._alarm(f"group holds users the server never announced: {sorted(ghosts)}")
        self._queued_refs.clear()
        self.state = MemberState.JOINED
        self.entered += 1
        # Receivers move first: the new keys are ready before any sender uses them.
        with self._media_lock:
            for sender, media in list(self._decryptors):
                if sender not in self._mls_roster:
                    del self._decryptors[(sender, media)]
            for sender in self._mls_roster:
                if sender == self.user_id:
                    continue
                for media in Media:
                    # A ratchet is moved into whatever takes it (a C++ unique_ptr): one per decryptor.
                    ratchet = self._session.get_key_ratchet(str(sender))
                    if ratchet is None:
                        break
                    decryptor = self._decryptors.setdefault((sender, media), dave.Decryptor())
                    decryptor.transition_to_key_ratchet(ratchet)
        self._pending_transition = transition_id
        return [ReadyForTransition(transition_id).to_json()]

    def _execute(self, transition_id: int) -> None:
        """Op 22: start sending with this epoch's key."""
        if self.state is not MemberState.JOINED:
            return
        if transition_id != 0 and transition_id != self._pending_transition:
            return
        ratchet = self._session.get_key_ratchet(str(self.user_id))
        with self._media_lock:
            self._encryptor.set_key_ratchet(ratchet)
        self._pending_transition = None
        self.executed_transitions.append(transition_id)

    def _alarm(self, text: str) -> None:
        self.alarms.append(text)
        if self._on_alarm:
            self._on_alarm(text)

    @property
    def roster(self) -> dict[int, bytes]:
        """User id -> signature public key of everyone in our MLS group (empty when in none)."""
        return dict(self._mls_roster) if self.state is MemberState.JOINED else {}

    # -- media -------------------------------------------------------------------------------

    @property
    def can_send(self) -> bool:
        with self._media_lock:
            return self._encryptor.has_key_ratchet()

    def encrypt(self, media: Media, frame: bytes) -> bytes | None:
        """The frame encrypted for the group, or None when there is no key to send with."""
        with self._media_lock:
            if not self._encryptor.has_key_ratchet():
                return None
            return self._encryptor.encrypt(_MEDIA_TYPE[media], _SSRC[media], frame)

    def decrypt(self, sender: int, media: Media, frame: bytes) -> bytes | None:
        """The plaintext frame, or None if it does not authenticate under any key we hold."""
        with self._media_lock:
            decryptor = self._decryptors.get((sender, media))
            if decryptor is None:
                return None
            return decryptor.decrypt(_MEDIA_TYPE[media], frame)

    # -- verification ------------------------------------------------------------------------

    def authenticator(self) -> bytes:
        """The current epoch's authenticator (what the group code shows; b"" when in no group)."""
        if self.state is not MemberState.JOINED:
            return b""
        return bytes(self._session.get_last_epoch_authenticator() or b"")

    def group_code(self) -> str | None:
        """The epoch authenticator as 30 digits in groups of 5; equal on every member's screen."""
        if self.state is not MemberState.JOINED:
            return None
        authenticator = self._session.get_last_epoch_authenticator()
        return group_code(authenticator) if authenticator else None

    async def pairwise_code(self, user_id: int) -> str:
        """The 45-digit code two members compare aloud to verify each other's keys."""
        fingerprint = await self._session.get_pairwise_fingerprint(FINGERPRINT_VERSION, str(user_id))
        if fingerprint is None:
            raise LookupError(f"user {user_id} is not in this member's group")
        return pairwise_code(fingerprint)

"""Helpers shared by the DAVE tests: real gateway, real dave.py members, in-memory link."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable, Sequence
from typing import Any

import dave
from cryptography.hazmat.primitives.asymmetric import ec

from parley.e2ee.gateway import DaveGateway, Refused
from parley.e2ee.local_group import LocalGroup, WireMember
from parley.e2ee.mls_wire import public_key_bytes
from parley.e2ee.opcodes import AnnounceCommitTransition, CommitWelcome, Op, ServerOp, decode_client_binary
from parley.protocol.fields import b64url, key_proof_message
from parley.sdk.identity import KEY_VERSION, public_key, sign
from parley.sdk.member import ClientMessage, DaveMember, Media

CHANNEL_ID = 0x0123456789ABCDEF


def device_key() -> bytes:
    """A fresh DAVE signature public key (a P-256 point, 65 bytes), as a device identifies with."""
    return public_key_bytes(ec.generate_private_key(ec.SECP256R1()))


def identify_data(token: str, people: list[str]) -> dict[str, object]:
    """The `d` of an identify op from a device with a fresh key: the key and its proof."""
    key = dave.SignatureKeyPair.generate(KEY_VERSION)
    public = public_key(key)
    proof = sign(key, key_proof_message(token, public))
    return {"token": token, "people": people, "key": b64url(public), "proof": b64url(proof)}


# A 60-byte Opus frame (TOC byte first) and a 30 KB VP8 key frame (frame tag, start code, size):
# DAVE keeps 1 and 10 bytes of them in the clear, so they must look like what they claim to be.
OPUS_FRAME = b"\xfc" + bytes(range(1, 60))
VP8_FRAME = bytes([0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A, 0x40, 0x01, 0xF0, 0x00]) + bytes(
    (i * 7) & 0xFF for i in range(30_000 - 10)
)
FRAMES = {Media.AUDIO: OPUS_FRAME, Media.VIDEO: VP8_FRAME}


class Clock:
    """A clock the test moves by hand (the gateway's transition timeout reads it)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def new_group(clock: Clock | None = None) -> tuple[DaveGateway, LocalGroup]:
    gateway = DaveGateway(CHANNEL_ID)
    return gateway, LocalGroup(gateway, clock or Clock())


def join(link: LocalGroup, *members: WireMember) -> None:
    """Join each member in turn, letting the group settle after each."""
    for member in members:
        link.join(member)
        link.run()


def dave_members(*user_ids: int) -> list[DaveMember]:
    return [DaveMember(u, CHANNEL_ID) for u in user_ids]


def frame_reaches(sender: DaveMember, receiver: DaveMember, media: Media) -> bool:
    """One fresh frame from sender decrypts at receiver to exactly what was sent."""
    sealed = sender.encrypt(media, FRAMES[media])
    assert sealed is not None, f"{sender.user_id} has no sending key"
    assert sealed != FRAMES[media]
    return receiver.decrypt(sender.user_id, media, sealed) == FRAMES[media]


def all_pairs_decrypt(members: Sequence[DaveMember]) -> bool:
    return all(frame_reaches(a, b, media) for a, b in itertools.permutations(members, 2) for media in Media)


def pairwise(a: DaveMember, b: DaveMember) -> tuple[str, str]:
    async def both() -> tuple[str, str]:
        return await a.pairwise_code(b.user_id), await b.pairwise_code(a.user_id)

    return asyncio.run(both())


def refusals(link: LocalGroup) -> list[Refused]:
    return [r.refused for r in link.refusals]


def group_codes(members: Iterable[DaveMember]) -> set[str | None]:
    return {m.group_code() for m in members}


def hold_commits(link: LocalGroup) -> dict[int, bytes]:
    """Run the link, but keep back every commit+welcome (op 28) a member sends; return them."""
    held: dict[int, bytes] = {}
    while True:
        for queued in list(link._to_gateway):
            user_id, message = queued
            if isinstance(message, bytes) and message[:1] == bytes([Op.COMMIT_WELCOME]):
                link._to_gateway.remove(queued)
                held[user_id] = message
        if not link.step():
            return held


class TagCorruptingMember(DaveMember):
    """A hostile member: every commit it sends carries a corrupt membership tag (the last byte of
    the MLSMessage flipped), which the gateway cannot check and every other member refuses. It
    keeps its own group by processing the commit it really made when the corrupt one comes back."""

    def __init__(self, user_id: int, channel_id: int, *args: Any, **kwargs: Any) -> None:
        super().__init__(user_id, channel_id, *args, **kwargs)
        self.real_commits: dict[bytes, bytes] = {}  # corrupt -> as made

    def receive(self, op: ServerOp) -> list[ClientMessage]:
        if isinstance(op, AnnounceCommitTransition) and op.commit in self.real_commits:
            op = AnnounceCommitTransition(op.transition_id, self.real_commits.pop(op.commit))
        return [self._corrupt(reply) for reply in super().receive(op)]

    def _corrupt(self, reply: ClientMessage) -> ClientMessage:
        if not isinstance(reply, bytes) or reply[:1] != bytes([Op.COMMIT_WELCOME]):
            return reply
        sent = decode_client_binary(reply)
        assert isinstance(sent, CommitWelcome)
        made = sent.commit.encoded
        corrupt = made[:-1] + bytes([made[-1] ^ 0xFF])
        self.real_commits[corrupt] = made
        return bytes([Op.COMMIT_WELCOME]) + corrupt + reply[1 + len(made) :]

"""The MLS 1.0 (RFC 9420) structures the DAVE gateway reads and writes, and nothing more.

The gateway is a delivery service and external sender, never a member: it parses key packages
(to check their signature and identity), commits (to check which proposals they reference and
who sent them) and welcomes (to cut them per joiner), and it writes external Add/Remove proposals
signed with its own key. It never sees a group secret, so it cannot check a member's commit
signature (that covers the GroupContext) or membership tag: members do that.

Parsers take bytes from the network and raise `DecodeError` (a `ValueError`) on anything that
does not fit; every vector has a size limit. Only ciphersuite 2
(MLS_128_DHKEMP256_AES128GCM_SHA256_P256) and basic credentials exist in DAVE version 1.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from typing import TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from parley.e2ee.tls import DecodeError, Reader, Writer

MLS_VERSION = 1
CIPHERSUITE = 2  # MLS_128_DHKEMP256_AES128GCM_SHA256_P256
CREDENTIAL_BASIC = 1
LIFETIME_MAX = (1 << 64) - 1

# Size limits. A P-256 point is 65 bytes and a DER ECDSA signature at most 72; the limits leave
# room without letting a peer make the gateway hold megabytes per field.
MAX_KEY = 133
MAX_SIGNATURE = 144
MAX_IDENTITY = 64
MAX_SMALL_LIST = 1024  # capabilities lists, extension lists
MAX_EXTENSION_DATA = 4096
MAX_REF = 64  # a SHA-256 RefHash is 32 bytes
MAX_MESSAGE = 1 << 20  # one commit, welcome or group info: about 100 members with a full tree


class WireFormat(enum.IntEnum):
    PUBLIC_MESSAGE = 1
    PRIVATE_MESSAGE = 2
    WELCOME = 3
    GROUP_INFO = 4
    KEY_PACKAGE = 5


class SenderType(enum.IntEnum):
    MEMBER = 1
    EXTERNAL = 2
    NEW_MEMBER_PROPOSAL = 3
    NEW_MEMBER_COMMIT = 4


class ContentType(enum.IntEnum):
    APPLICATION = 1
    PROPOSAL = 2
    COMMIT = 3


class ProposalType(enum.IntEnum):
    ADD = 1
    UPDATE = 2
    REMOVE = 3


class LeafNodeSource(enum.IntEnum):
    KEY_PACKAGE = 1
    UPDATE = 2
    COMMIT = 3


_E = TypeVar("_E", bound=enum.IntEnum)


def _enum(kind: type[_E], value: int, what: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        raise DecodeError(f"{what}: unknown value {value}") from None


def _mls_version(r: Reader, what: str) -> None:
    version = r.u16(what)
    if version != MLS_VERSION:
        raise DecodeError(f"{what} {version} is not MLS 1.0")


# -- signatures and references (RFC 9420 5.1.2, 5.2) -------------------------------------------


def _sign_content(label: str, content: bytes) -> bytes:
    return Writer().vector(b"MLS 1.0 " + label.encode()).vector(content).getvalue()


def sign_with_label(key: ec.EllipticCurvePrivateKey, label: str, content: bytes) -> bytes:
    """SignWithLabel: ECDSA P-256 SHA-256, DER-encoded, as ciphersuite 2 (and libdave) use."""
    return key.sign(_sign_content(label, content), ec.ECDSA(hashes.SHA256()))


def verify_with_label(public_key: bytes, label: str, content: bytes, signature: bytes) -> bool:
    """VerifyWithLabel against a 65-byte uncompressed P-256 point; False for any bad key or signature."""
    try:
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public_key)
        key.verify(signature, _sign_content(label, content), ec.ECDSA(hashes.SHA256()))
    except (ValueError, InvalidSignature):
        return False
    return True


def ref_hash(label: str, value: bytes) -> bytes:
    """RefHash with SHA-256: the KeyPackageRef and ProposalRef of ciphersuite 2."""
    return hashlib.sha256(Writer().vector(label.encode()).vector(value).getvalue()).digest()


def public_key_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    """The 65-byte uncompressed point MLS carries as a SignaturePublicKey."""
    return key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


# -- leaf nodes and key packages (RFC 9420 7.2, 10) --------------------------------------------


def _credential(r: Reader) -> bytes:
    """A Credential; returns the basic identity. DAVE allows basic credentials only."""
    kind = r.u16("credential_type")
    if kind != CREDENTIAL_BASIC:
        raise DecodeError(f"credential_type {kind} is not basic (1)")
    return r.vector(MAX_IDENTITY, "identity")


def _skip_capabilities(r: Reader) -> None:
    for what in ("versions", "cipher_suites", "extensions", "proposals", "credentials"):
        items = r.vector(MAX_SMALL_LIST, f"capabilities.{what}")
        if len(items) % 2:
            raise DecodeError(f"capabilities.{what}: odd length {len(items)} for a list of u16")


def _skip_extensions(r: Reader) -> None:
    ext = r.sub(MAX_SMALL_LIST * 4 + MAX_EXTENSION_DATA, "extensions")
    while not ext.at_end():
        ext.u16("extension_type")
        ext.vector(MAX_EXTENSION_DATA, "extension_data")


@dataclass(frozen=True)
class LeafNode:
    encryption_key: bytes
    signature_key: bytes
    identity: bytes
    source: LeafNodeSource
    not_before: int
    not_after: int
    tbs_prefix: bytes  # the encoding up to the signature: LeafNodeTBS starts with it
    signature: bytes

    @classmethod
    def read(cls, r: Reader) -> LeafNode:
        start = r.position
        encryption_key = r.vector(MAX_KEY, "leaf_node.encryption_key")
        signature_key = r.vector(MAX_KEY, "leaf_node.signature_key")
        identity = _credential(r)
        _skip_capabilities(r)
        source = _enum(LeafNodeSource, r.u8("leaf_node_source"), "leaf_node_source")
        not_before, not_after = 0, 0
        if source is LeafNodeSource.KEY_PACKAGE:
            not_before, not_after = r.u64("not_before"), r.u64("not_after")
        elif source is LeafNodeSource.COMMIT:
            r.vector(MAX_REF, "parent_hash")
        _skip_extensions(r)
        tbs_prefix = r.since(start)
        signature = r.vector(MAX_SIGNATURE, "leaf_node.signature")
        return cls(
            encryption_key, signature_key, identity, source, not_before, not_after, tbs_prefix, signature
        )

    def verify(self, group_id: bytes = b"", leaf_index: int = 0) -> bool:
        """Check the leaf's self-signature; update/commit leaves also sign group id and leaf index."""
        tbs = self.tbs_prefix
        if self.source is not LeafNodeSource.KEY_PACKAGE:
            tbs += Writer().vector(group_id).u32(leaf_index).getvalue()
        return verify_with_label(self.signature_key, "LeafNodeTBS", tbs, self.signature)


@dataclass(frozen=True)
class KeyPackage:
    encoded: bytes
    cipher_suite: int
    init_key: bytes
    leaf_node: LeafNode
    tbs: bytes
    signature: bytes

    @classmethod
    def read(cls, r: Reader) -> KeyPackage:
        start = r.position
        _mls_version(r, "key_package.version")
        cipher_suite = r.u16("key_package.cipher_suite")
        init_key = r.vector(MAX_KEY, "init_key")
        leaf_node = LeafNode.read(r)
        _skip_extensions(r)
        tbs = r.since(start)
        signature = r.vector(MAX_SIGNATURE, "key_package.signature")
        return cls(r.since(start), cipher_suite, init_key, leaf_node, tbs, signature)

    @classmethod
    def parse(cls, data: bytes) -> KeyPackage:
        r = Reader(data)
        kp = cls.read(r)
        r.expect_end("key_package")
        return kp

    def ref(self) -> bytes:
        return ref_hash("MLS 1.0 KeyPackage Reference", self.encoded)

    def signatures_valid(self) -> bool:
        key = self.leaf_node.signature_key
        return self.leaf_node.verify() and verify_with_label(key, "KeyPackageTBS", self.tbs, self.signature)


# -- proposals, commits and framing (RFC 9420 6, 12) -------------------------------------------


@dataclass(frozen=True)
class Add:
    key_package: KeyPackage


@dataclass(frozen=True)
class Remove:
    removed: int


Proposal = Add | Remove


def read_proposal(r: Reader) -> Proposal:
    kind = r.u16("proposal_type")
    if kind == ProposalType.ADD:
        return Add(KeyPackage.read(r))
    if kind == ProposalType.REMOVE:
        return Remove(r.u32("removed"))
    raise DecodeError(f"proposal_type {kind} is not allowed in DAVE (add and remove only)")


def write_proposal(proposal: Proposal) -> bytes:
    if isinstance(proposal, Add):
        return Writer().u16(ProposalType.ADD).raw(proposal.key_package.encoded).getvalue()
    return Writer().u16(ProposalType.REMOVE).u32(proposal.removed).getvalue()


@dataclass(frozen=True)
class Commit:
    """A commit as the gateway needs it: its proposal references and its path's leaf node."""

    proposal_refs: tuple[bytes, ...]
    inline_proposals: int  # proposals carried by value: DAVE forbids them
    path_leaf: LeafNode | None

    @classmethod
    def read(cls, r: Reader) -> Commit:
        refs: list[bytes] = []
        inline = 0
        items = r.sub(MAX_MESSAGE, "commit.proposals")
        while not items.at_end():
            kind = items.u8("proposal_or_ref.type")
            if kind == 1:
                read_proposal(items)
                inline += 1
            elif kind == 2:
                refs.append(items.vector(MAX_REF, "proposal_ref"))
            else:
                raise DecodeError(f"proposal_or_ref.type {kind} is unknown")
        present = r.u8("commit.path present")
        path_leaf = None
        if present == 1:
            path_leaf = LeafNode.read(r)
            nodes = r.sub(MAX_MESSAGE, "update_path.nodes")
            while not nodes.at_end():
                nodes.vector(MAX_KEY, "update_path_node.encryption_key")
                secrets = nodes.sub(MAX_MESSAGE, "encrypted_path_secret")
                while not secrets.at_end():
                    secrets.vector(MAX_KEY, "kem_output")
                    secrets.vector(MAX_MESSAGE, "ciphertext")
        elif present != 0:
            raise DecodeError(f"commit.path optional flag {present} is neither 0 nor 1")
        return cls(tuple(refs), inline, path_leaf)


@dataclass(frozen=True)
class FramedPublicMessage:
    """An MLSMessage carrying a PublicMessage, with the pieces needed to check and reference it."""

    encoded: bytes
    group_id: bytes
    epoch: int
    sender_type: SenderType
    sender_index: int
    content_type: ContentType
    body: Proposal | Commit | bytes
    authenticated_content: bytes  # wire_format || FramedContent || FramedContentAuthData

    @classmethod
    def parse(cls, data: bytes) -> FramedPublicMessage:
        r = Reader(data)
        msg = cls.read(r)
        r.expect_end("mls_message")
        return msg

    @classmethod
    def read(cls, r: Reader) -> FramedPublicMessage:
        start = r.position
        _mls_version(r, "mls_message.version")
        wire_format = r.u16("wire_format")
        if wire_format != WireFormat.PUBLIC_MESSAGE:
            raise DecodeError(f"wire_format {wire_format} is not a PublicMessage (1)")
        content_start = r.position
        group_id = r.vector(MAX_IDENTITY, "group_id")
        epoch = r.u64("epoch")
        sender_type = _enum(SenderType, r.u8("sender_type"), "sender_type")
        sender_index = 0
        if sender_type in (SenderType.MEMBER, SenderType.EXTERNAL):
            sender_index = r.u32("sender index")
        r.vector(MAX_MESSAGE, "authenticated_data")
        content_type = _enum(ContentType, r.u8("content_type"), "content_type")
        body: Proposal | Commit | bytes
        if content_type is ContentType.PROPOSAL:
            body = read_proposal(r)
        elif content_type is ContentType.COMMIT:
            body = Commit.read(r)
        else:
            body = r.vector(MAX_MESSAGE, "application_data")
        r.vector(MAX_SIGNATURE, "signature")
        if content_type is ContentType.COMMIT:
            r.vector(MAX_REF, "confirmation_tag")
        auth_end = r.position
        if sender_type is SenderType.MEMBER:
            r.vector(MAX_REF, "membership_tag")
        authenticated = (
            Writer().u16(wire_format).getvalue() + r.since(content_start)[: auth_end - content_start]
        )
        return cls(
            encoded=r.since(start),
            group_id=group_id,
            epoch=epoch,
            sender_type=sender_type,
            sender_index=sender_index,
            content_type=content_type,
            body=body,
            authenticated_content=authenticated,
        )

    def proposal_ref(self) -> bytes:
        return ref_hash("MLS 1.0 Proposal Reference", self.authenticated_content)


def external_proposal(
    key: ec.EllipticCurvePrivateKey, group_id: bytes, epoch: int, proposal: Proposal
) -> FramedPublicMessage:
    """An external sender's proposal (sender_index 0) as an MLSMessage, signed without GroupContext."""
    content = (
        Writer()
        .vector(group_id)
        .u64(epoch)
        .u8(SenderType.EXTERNAL)
        .u32(0)
        .vector(b"")
        .u8(ContentType.PROPOSAL)
        .raw(write_proposal(proposal))
        .getvalue()
    )
    header = Writer().u16(MLS_VERSION).u16(WireFormat.PUBLIC_MESSAGE).getvalue()
    signature = sign_with_label(key, "FramedContentTBS", header + content)
    encoded = header + content + Writer().vector(signature).getvalue()
    return FramedPublicMessage.parse(encoded)


# -- welcome (RFC 9420 12.4.3.1) ----------------------------------------------------------------


@dataclass(frozen=True)
class Welcome:
    cipher_suite: int
    secrets: tuple[tuple[bytes, bytes], ...]  # (KeyPackageRef, encoded HPKECiphertext)
    encrypted_group_info: bytes

    @classmethod
    def parse(cls, data: bytes) -> Welcome:
        r = Reader(data)
        cipher_suite = r.u16("welcome.cipher_suite")
        items = r.sub(MAX_MESSAGE, "welcome.secrets")
        secrets: list[tuple[bytes, bytes]] = []
        while not items.at_end():
            ref = items.vector(MAX_REF, "new_member")
            start = items.position
            items.vector(MAX_KEY, "kem_output")
            items.vector(MAX_MESSAGE, "encrypted_group_secrets")
            secrets.append((ref, items.since(start)))
        group_info = r.vector(MAX_MESSAGE, "encrypted_group_info")
        r.expect_end("welcome")
        return cls(cipher_suite, tuple(secrets), group_info)

    def encode(self) -> bytes:
        body = Writer()
        for ref, ciphertext in self.secrets:
            body.vector(ref).raw(ciphertext)
        return (
            Writer()
            .u16(self.cipher_suite)
            .vector(body.getvalue())
            .vector(self.encrypted_group_info)
            .getvalue()
        )

    def for_member(self, key_package_ref: bytes) -> Welcome:
        """The welcome cut down to one joiner's secrets, so no joiner learns who else joined how."""
        mine = tuple(s for s in self.secrets if s[0] == key_package_ref)
        return Welcome(self.cipher_suite, mine, self.encrypted_group_info)


# -- the external sender (RFC 9420 12.1.8.1) ------------------------------------------------------


def external_sender(signature_key: bytes, identity: bytes) -> bytes:
    """The ExternalSender struct DAVE's op 25 carries: signature key and basic credential."""
    return Writer().vector(signature_key).u16(CREDENTIAL_BASIC).vector(identity).getvalue()

"""Turning the in-process server hostile against certified devices, as its operator could: the
gateway proposing keys of its own, the roster relabelling a member, the key group split in two.

Each helper patches the running room or gateway (there is no switch for this in production code);
nothing here touches a client. The server can do all of this; what it cannot do is make a
certificate, which is why every certified client catches it (tests/integration/test_certified_*).
"""

from __future__ import annotations

from typing import Any

from parley.e2ee.gateway import Accepted, Refused, Send
from parley.e2ee.mls_wire import Add, KeyPackage
from parley.e2ee.opcodes import (
    AnnounceCommitTransition,
    ClientsConnect,
    CommitWelcome,
    ExternalSenderPackage,
    Op,
    decode_client_binary,
)
from parley.protocol.server_ops import DeviceInfo, RosterData, RosterOp
from parley.sdk.member import DaveMember
from parley.server.room import Room


def propose_impostor(room: Room, user_id: int) -> DaveMember:
    """The gateway announces `user_id` and proposes to add a key package of the server's own
    under it, whoever holds that user id (no one: a ghost; a member: a second leaf, or a key
    swapped in; a removed member: back with a new key). Returns the server's member."""
    impostor = DaveMember(user_id, room.summit.channel_id)
    (frame,) = impostor.receive(ExternalSenderPackage(room.gateway.external_sender))
    assert isinstance(frame, bytes) and frame[0] == Op.KEY_PACKAGE
    gateway = room.gateway
    members = set(gateway.members())
    proposal = gateway._new_proposal(Add(KeyPackage.parse(frame[1:])), user_id, members)
    announce = [Send(u, ClientsConnect((user_id,))) for u in sorted(members)]
    room._deliver(Accepted((*announce, *gateway._append(proposal, members))))
    return impostor


def relabel(room: Room, user_id: int, delegation_id: str, delegation: str) -> None:
    """From now on the roster shows `user_id` as a device of another delegation."""
    honest = room.policy.roster

    def roster() -> list[DeviceInfo]:
        return [
            d.model_copy(update={"delegation_id": delegation_id, "delegation": delegation})
            if d.user_id == user_id
            else d
            for d in honest()
        ]

    room.policy.roster = roster  # type: ignore[method-assign]
    shown = RosterOp(d=RosterData(devices=roster()))
    for device in room._devices.values():
        room.send(device, shown)


def split_next_commit(room: Room, half: set[int]) -> None:
    """The next epoch splits the members in two groups at one epoch number: the gateway takes a
    commit from a member outside `half` and announces it to every member but `half`; `half` is
    announced a commit of one of its own, under the same transition id. Both commits only remove
    whoever leaves, so each group's tree still holds everyone: the rosters and the codes
    differ, nobody is shown leaving."""
    honest_binary, honest_deliver = room.dave_binary, room._deliver
    split: dict[str, Any] = {}

    def announce_to_half() -> None:
        if "transition" in split and "commit" in split and not split.get("done"):
            split["done"] = True
            op = AnnounceCommitTransition(split["transition"], split["commit"])
            honest_deliver(Accepted(tuple(Send(u, op) for u in sorted(half))))

    def deliver(accepted: Accepted) -> None:
        sends = []
        for send in accepted.sends:
            if isinstance(send.op, AnnounceCommitTransition) and send.to in half and not split.get("done"):
                split["transition"] = send.op.transition_id  # withheld: `half` gets its own
                continue
            sends.append(send)
        honest_deliver(Accepted(tuple(sends), accepted.expelled))
        announce_to_half()

    def dave_binary(sender: int, frame: bytes) -> Refused | None:
        if sender in half and frame[:1] == bytes([Op.COMMIT_WELCOME]) and not split.get("done"):
            decoded = decode_client_binary(frame)
            assert isinstance(decoded, CommitWelcome)
            split.setdefault("commit", decoded.commit.encoded)
            announce_to_half()
            return None
        return honest_binary(sender, frame)

    room._deliver = deliver  # type: ignore[method-assign]
    room.dave_binary = dave_binary  # type: ignore[method-assign,assignment]

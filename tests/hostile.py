"""Turning the in-process server hostile, as an attacker who runs it would.

The threat model's attacker is the server's operator: it controls what the server says in the
`roster` op and which key packages its DAVE gateway proposes. These helpers change the running
server's behaviour exactly that way (the room's roster, the gateway's proposals), so a test can
show what every honest client makes of it. Nothing here touches a client.
"""

from __future__ import annotations

from collections.abc import Callable

from parley.e2ee.gateway import Refused
from parley.e2ee.opcodes import ExternalSenderPackage, Op
from parley.protocol.dave_ops import DaveDeviceOp
from parley.protocol.server_ops import DeviceInfo, RosterData, RosterOp
from parley.sdk.member import DaveMember
from parley.server.room import Room
from parley.server.runtime import ParleyServer


def room_of(server: ParleyServer, summit_id: str) -> Room:
    return server.state.rooms[summit_id]


def hide_from_roster(room: Room, hidden: Callable[[DeviceInfo], bool]) -> None:
    """From now on the roster op leaves out every device `hidden` picks, while the gateway keeps
    handling its DAVE ops as any member's: it joins the key group and gets every key."""
    honest = room.policy.roster

    def roster() -> list[DeviceInfo]:
        return [device for device in honest() if not hidden(device)]

    room.policy.roster = roster  # type: ignore[method-assign]
    shown = RosterOp(d=RosterData(devices=roster()))
    for device in room.devices.values():
        room.send(device, shown)


def swap_key(room: Room, user_id: int) -> DaveMember:
    """In one commit, replace `user_id`'s leaf with a key the server made: the gateway removes the
    member's leaf and proposes a key package of its own under the same user id.

    The victim's own DAVE ops are ignored from then on (it would report the commit it cannot use
    and be re-added with its real key), so the swapped epoch lasts. Returns the server's member,
    which holds the new key.
    """
    impostor = DaveMember(user_id, room.summit.channel_id)
    (key_package,) = impostor.receive(ExternalSenderPackage(room.gateway.external_sender))
    assert isinstance(key_package, bytes) and key_package[0] == Op.KEY_PACKAGE
    room.gateway._users[user_id].identified_key = None  # the hostile server skips its own check
    honest_binary, honest_json = room.dave_binary, room.dave_json

    def dave_binary(sender: int, frame: bytes) -> Refused | None:
        return None if sender == user_id else honest_binary(sender, frame)

    def dave_json(sender: int, message: DaveDeviceOp) -> Refused | None:
        return None if sender == user_id else honest_json(sender, message)

    room.dave_binary = dave_binary  # type: ignore[method-assign,assignment]
    room.dave_json = dave_json  # type: ignore[method-assign,assignment]
    outcome = room.gateway.receive_binary(user_id, key_package, room.clock())
    assert room._outcome(outcome) is None, outcome
    return impostor

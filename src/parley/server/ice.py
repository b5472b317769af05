"""The ICE servers a device is told about in `ready`, with TURN credentials minted for it alone.

A TURN server relays for whoever authenticates, so its credentials must not be one password shared
by every device of every summit for ever. With a `turn_secret` shared with the TURN server (coturn's
`use-auth-secret` / `static-auth-secret`), each device gets time-limited credentials of its own, as
the TURN REST API convention has them:

    username = "<expiry, Unix seconds>:<the device's user id>"
    password = base64(HMAC-SHA1(secret, username))

The TURN server recomputes the password from the username and refuses it once the expiry has passed;
nothing is stored on either side and nothing of the secret goes to the device. Sans-IO: the clock is
passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import NamedTuple

from parley.media.janus_config import TurnServer
from parley.protocol.server_ops import IceServer


class TurnCredential(NamedTuple):
    username: str
    password: str


def turn_credential(secret: str, user: str, expires: int) -> TurnCredential:
    """TURN REST API credentials for `user` that the TURN server accepts until `expires` (Unix s)."""
    username = f"{expires}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return TurnCredential(username, base64.b64encode(digest).decode())


def is_turn(url: str) -> bool:
    return url.startswith(("turn:", "turns:"))


@dataclass(frozen=True)
class IceServers:
    """The server's STUN and TURN settings, as devices' peer connections get them (RTCIceServer)."""

    stun_server: str = ""  # "host:port"
    turn_servers: tuple[str, ...] = ()  # "turn:host:port?transport=tcp", "turns:..."
    turn_secret: str = field(default="", repr=False)
    turn_ttl: int = 86400  # seconds a device's credentials last: longer than any summit day

    def __post_init__(self) -> None:
        if self.turn_ttl < 60:
            raise ValueError(f"turn_ttl must be at least 60 seconds, not {self.turn_ttl}")
        turn = [url for url in self.turn_servers if is_turn(url)]
        if turn != list(self.turn_servers):
            raise ValueError("turn_servers takes turn: and turns: URLs only (STUN goes in stun_server)")
        if bool(turn) != bool(self.turn_secret):
            raise ValueError("turn_servers and turn_secret go together: devices get credentials from it")

    def for_device(self, user_id: int, now: float) -> list[IceServer]:
        """What device `user_id` is told at `now`: the STUN server, and each TURN URL with
        credentials of its own that last `turn_ttl` seconds."""
        stun = [IceServer(urls=f"stun:{self.stun_server}")] if self.stun_server else []
        if not self.turn_servers:
            return stun
        username, password = turn_credential(self.turn_secret, str(user_id), int(now) + self.turn_ttl)
        turn = [IceServer(urls=url, username=username, credential=password) for url in self.turn_servers]
        return stun + turn


#: Janus's own TURN credentials are written once per server start into its config folder (mode 0700,
#: on this host, beside the settings holding the secret itself), so they may outlast any restart.
JANUS_TURN_LIFETIME = 10 * 365 * 86400


def janus_turn_server(url: str, secret: str, now: float) -> TurnServer:
    """The relay Janus gathers candidates from (`turn:host:port?transport=udp|tcp`, `turns:` for
    TLS), with credentials from the TURN server's secret for the user "janus"."""
    scheme, _, rest = url.partition(":")
    address, _, query = rest.partition("?")
    host, _, port = address.rpartition(":")
    transport = dict(p.partition("=")[::2] for p in query.split("&") if p).get("transport", "udp")
    if scheme not in ("turn", "turns") or not host or not port.isdigit() or transport not in ("udp", "tcp"):
        raise ValueError(f"janus_turn_server must be turn:HOST:PORT[?transport=udp|tcp] or turns:, not {url}")
    if not secret:
        raise ValueError("janus_turn_server needs turn_secret: Janus's credentials come from it")
    username, password = turn_credential(secret, "janus", int(now) + JANUS_TURN_LIFETIME)
    kind = "tls" if scheme == "turns" else transport
    return TurnServer(host, int(port), kind, username, password)

"""The configuration folder Parley generates for its managed Janus.

Janus reads a folder of libconfig (``.jcfg``) files: ``janus.jcfg`` for the core and one file per plugin and
transport it loads. Parley writes the folder itself rather than shipping one, so that the only things Janus
loads are what Parley uses (the VideoRoom plugin and the WebSocket transport, on 127.0.0.1), the API secret
never sits in a file someone else wrote, and the deployment-specific parts (interfaces, NAT mapping, TURN)
are values, not code paths.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from parley.media.video_caps import SLOWLINK_THRESHOLD

#: The only address the Janus API listens on: the Parley server is its only client.
WS_HOST = "127.0.0.1"

VIDEOROOM_PLUGIN = "libjanus_videoroom.so"
WEBSOCKETS_TRANSPORT = "libjanus_websockets.so"

# What Debian's janus 1.1.2 ships (dpkg -L janus). The disable lists name these even when the folder
# cannot be read, and add whatever else the folder holds, so a newer package cannot sneak a plugin in.
_DEBIAN_PLUGINS = (
    "libjanus_audiobridge.so",
    "libjanus_duktape.so",
    "libjanus_echotest.so",
    "libjanus_lua.so",
    "libjanus_nosip.so",
    "libjanus_recordplay.so",
    "libjanus_sip.so",
    "libjanus_streaming.so",
    "libjanus_textroom.so",
    "libjanus_videocall.so",
    "libjanus_videoroom.so",
    "libjanus_voicemail.so",
)
_DEBIAN_TRANSPORTS = (
    "libjanus_http.so",
    "libjanus_mqtt.so",
    "libjanus_nanomsg.so",
    "libjanus_pfunix.so",
    "libjanus_rabbitmq.so",
    "libjanus_websockets.so",
)
_DEBIAN_LOGGERS = ("libjanus_jsonlog.so",)

JcfgValue = str | int | bool


def find_janus_lib_dir() -> Path:
    """Where the distribution put Janus's plugin folders (Debian: /usr/lib/<multiarch>/janus)."""
    for candidate in [*sorted(glob.glob("/usr/lib/*/janus/plugins")), "/usr/lib/janus/plugins"]:
        if os.path.isdir(candidate):
            return Path(candidate).parent
    return Path("/usr/lib/x86_64-linux-gnu/janus")


MIN_NACK_QUEUE_MS = 1000  # see parley.media.recovery: a receiver asks again for 0.45 s or more


@dataclass(frozen=True)
class TurnServer:
    """The TURN server Janus itself uses to gather relay candidates (Janus's core takes one)."""

    host: str
    port: int = 3478
    transport: str = "udp"
    username: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class JanusConfig:
    """Everything that differs between a test run, a developer's machine and a production node.

    The server builds one from its settings and hands it to :class:`~parley.media.janus_process.JanusProcess`,
    which calls :meth:`write` before each start.
    """

    #: Port of the WebSocket Janus API, always bound to 127.0.0.1.
    ws_port: int
    #: Secret every Janus API request must carry; never logged (hence ``repr=False``).
    api_secret: str = field(repr=False)
    #: UDP ports for ICE/RTP, inclusive; firewalls open exactly this range.
    rtp_port_range: tuple[int, int] = (20000, 40000)
    #: Static event loops (one per core measured 2-3x the default thread-per-handle throughput).
    event_loops: int = field(default_factory=lambda: os.cpu_count() or 1)
    #: Interfaces or address prefixes ICE may use ("127." in tests: the namespace's pv0 holds 127.0.1.1).
    ice_enforce_list: str | None = None
    #: Interfaces or address prefixes ICE must not use (Janus's own default is "vmnet").
    ice_ignore_list: str | None = "vmnet"
    #: Drop clients' mDNS (.local) candidates instead of resolving them.
    ignore_mdns: bool = False
    #: Gather IPv6 candidates too.
    ipv6: bool = False
    #: Public address(es) to advertise in host candidates when behind a 1:1 NAT (e.g. a cloud VM).
    nat_1_1_mapping: str | None = None
    #: (host, port) of a STUN server Janus uses to learn its public address.
    stun_server: tuple[str, int] | None = None
    turn_server: TurnServer | None = None
    #: 0 (nothing) to 7 (everything); 4 is Janus's default and says little per call.
    debug_level: int = 4
    #: Janus destroys a session after this many idle seconds; the client keeps its sessions alive.
    session_timeout: int = 60
    lib_dir: Path = field(default_factory=find_janus_lib_dir)

    def __post_init__(self) -> None:
        if not 0 < self.ws_port < 65536:
            raise ValueError(f"ws_port must be a TCP port (1-65535), not {self.ws_port}")
        if not self.api_secret:
            raise ValueError("api_secret must not be empty: the Janus API would be open to every local user")
        low, high = self.rtp_port_range
        if not 0 < low <= high < 65536:
            raise ValueError(f"rtp_port_range must be two UDP ports, low <= high, not {self.rtp_port_range}")
        if self.event_loops < 1:
            raise ValueError(f"event_loops must be at least 1, not {self.event_loops}")
        if not 0 <= self.debug_level <= 7:
            raise ValueError(f"debug_level must be 0-7, not {self.debug_level}")
        if self.session_timeout < 1:
            raise ValueError("session_timeout must be positive (0 would keep dead sessions forever)")

    @property
    def ws_url(self) -> str:
        return f"ws://{WS_HOST}:{self.ws_port}"

    def write(self, directory: Path) -> Path:
        """Write the config folder into ``directory`` and return the path of ``janus.jcfg``.

        The files are readable by the owner only: they hold the API secret (and the TURN password).
        """
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        files = {
            "janus.jcfg": self._core(directory),
            "janus.plugin.videoroom.jcfg": _VIDEOROOM,
            "janus.transport.websockets.jcfg": self._websockets(),
        }
        for name, sections in files.items():
            _write_private(directory / name, render_jcfg(sections))
        return directory / "janus.jcfg"

    def _core(self, directory: Path) -> dict[str, dict[str, JcfgValue]]:
        lib = self.lib_dir
        general: dict[str, JcfgValue] = {
            "configs_folder": str(directory),
            "plugins_folder": str(lib / "plugins"),
            "transports_folder": str(lib / "transports"),
            "events_folder": str(lib / "events"),
            "loggers_folder": str(lib / "loggers"),
            "debug_level": self.debug_level,
            "api_secret": self.api_secret,
            "event_loops": self.event_loops,
            "session_timeout": self.session_timeout,
            "server_name": "parley",
            # A plugin that fails to load must stop Janus, not leave a server without its SFU.
            "exit_on_dl_error": True,
        }
        low, high = self.rtp_port_range
        media: dict[str, JcfgValue] = {
            "rtp_port_range": f"{low}-{high}",
            "ipv6": self.ipv6,
            # Keep what was sent to each subscriber long enough that a NACK asked again after a lost
            # resend still finds it (Janus's default, 200 ms, is gone before a second NACK comes).
            "min_nack_queue": MIN_NACK_QUEUE_MS,
            # Report a stream a subscriber loses much of (`slowlink`): what lowers a feed's video cap.
            "slowlink_threshold": SLOWLINK_THRESHOLD,
        }
        nat: dict[str, JcfgValue] = {"nice_debug": False, "ignore_mdns": self.ignore_mdns}
        if self.ice_enforce_list is not None:
            nat["ice_enforce_list"] = self.ice_enforce_list
        if self.ice_ignore_list is not None:
            nat["ice_ignore_list"] = self.ice_ignore_list
        if self.nat_1_1_mapping is not None:
            nat["nat_1_1_mapping"] = self.nat_1_1_mapping
        if self.stun_server is not None:
            nat["stun_server"], nat["stun_port"] = self.stun_server
        if (turn := self.turn_server) is not None:
            nat.update(turn_server=turn.host, turn_port=turn.port, turn_type=turn.transport)
            if turn.username is not None:
                nat["turn_user"] = turn.username
            if turn.password is not None:
                nat["turn_pwd"] = turn.password
        return {
            "general": general,
            "certificates": {},
            "media": media,
            "nat": nat,
            "plugins": {"disable": _disable_list(lib / "plugins", _DEBIAN_PLUGINS, keep=VIDEOROOM_PLUGIN)},
            "transports": {
                "disable": _disable_list(lib / "transports", _DEBIAN_TRANSPORTS, keep=WEBSOCKETS_TRANSPORT)
            },
            "loggers": {"disable": _disable_list(lib / "loggers", _DEBIAN_LOGGERS, keep=None)},
            # Event handlers are off unless broadcast is true; say so rather than rely on the default.
            "events": {"broadcast": False},
        }

    def _websockets(self) -> dict[str, dict[str, JcfgValue]]:
        return {
            "general": {
                "json": "compact",
                "ws": True,
                "ws_port": self.ws_port,
                "ws_ip": WS_HOST,
                # Redundant with the bind address; a second line of defence if ws_ip is ever lost.
                "ws_acl": "127.",
                "wss": False,
            },
            "admin": {"admin_ws": False, "admin_wss": False},
        }


# Rooms are created at runtime by the server (and destroyed with the summit), never in config.
_VIDEOROOM: Mapping[str, Mapping[str, JcfgValue]] = {"general": {"events": False}}


def _disable_list(folder: Path, known: Iterable[str], keep: str | None) -> str:
    try:
        present = {name for name in os.listdir(folder) if name.endswith(".so")}
    except OSError:
        present = set()
    return ",".join(sorted((present | set(known)) - {keep}))


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    if any(ord(c) < 0x20 for c in escaped):
        raise ValueError("jcfg strings must not contain control characters")
    return f'"{escaped}"'


def _value(value: JcfgValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return _quote(value)


def render_jcfg(sections: Mapping[str, Mapping[str, JcfgValue]]) -> str:
    """Render sections of scalar settings in libconfig syntax, the way Janus's samples lay them out."""
    lines: list[str] = []
    for section, items in sections.items():
        lines.append(f"{section}: {{")
        lines.extend(f"\t{key} = {_value(value)}" for key, value in items.items())
        lines.append("}")
    return "\n".join(lines) + "\n"


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)
    os.chmod(path, 0o600)  # O_CREAT's mode does not apply to a file that already existed

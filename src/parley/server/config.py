"""Server configuration: a TOML file, overridden by PARLEY_* environment variables.

Everything that differs between a laptop demo and a production node is configuration, not code:
addresses and ports, where state lives, the database, and the media network (which interfaces
Janus may use for ICE, a public 1:1 NAT address, STUN/TURN servers).

    [server]
    host = "127.0.0.1"          # PARLEY_HOST
    port = 8470                 # PARLEY_PORT
    public_url = "http://127.0.0.1:8470"   # PARLEY_PUBLIC_URL: what invite links start with
    data_dir = "~/.local/share/parley"     # PARLEY_DATA_DIR
    web_dir = ""                # PARLEY_WEB_DIR: the built browser client (default: web/dist here)
    database_url = ""           # PARLEY_DATABASE_URL; empty: SQLite in data_dir
    connection_rate = [30, 60]  # PARLEY_CONNECTION_RATE="30,60": signalling WebSockets per client
                                #   address: 30 at once, then 60 a minute (IPv6: per /64)
    identify_rate = [20, 30]    # PARLEY_IDENTIFY_RATE: identify attempts per address, likewise
    client_origins = []         # PARLEY_CLIENT_ORIGINS="https://a.example,https://b.example":
                                # origins where delegations serve the browser client themselves
                                # (parley web-serve); they may use the client's API and WebSocket

    [media]
    janus_ws_port = 8188        # PARLEY_JANUS_WS_PORT (Janus API on 127.0.0.1 only)
    rtp_port_range = [20000, 20999]
    ice_enforce_list = ""       # e.g. "eth0" or "10.0.0." ; PARLEY_ICE_ENFORCE_LIST
    nat_1_1_mapping = ""        # public address of this host; PARLEY_NAT_1_1_MAPPING
    stun_server = ""            # "host:port"; PARLEY_STUN_SERVER: for Janus and the devices
    turn_servers = []           # "turn:host:3478?transport=udp", "turn:host:3478?transport=tcp", "turns:..."
                                #   for the devices; each gets credentials of its own (parley.server.ice)
    turn_secret = ""            # PARLEY_TURN_SECRET: the TURN server's static-auth-secret (coturn)
    turn_ttl = 86400            # seconds a device's TURN credentials last
    janus_turn_server = ""      # "turn:host:port?transport=udp": a relay for Janus itself (rarely needed);
                                #   its credentials come from turn_secret
    ipv6 = false
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from parley.server.origins import origin_of


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8470
    public_url: str = ""
    data_dir: Path = field(default_factory=lambda: Path("~/.local/share/parley").expanduser())
    database_url: str = ""
    janus_ws_port: int = 8188
    rtp_port_range: tuple[int, int] = (20000, 20999)
    ice_enforce_list: str = ""
    nat_1_1_mapping: str = ""
    stun_server: str = ""
    turn_servers: tuple[str, ...] = field(default_factory=tuple)
    turn_secret: str = field(default="", repr=False)
    turn_ttl: int = 86400
    janus_turn_server: str = ""
    client_origins: tuple[str, ...] = field(default_factory=tuple)
    ipv6: bool = False
    web_dir: Path | None = None  # the built browser client; default: web/dist of this checkout
    test_hooks: bool = False  # PARLEY_TEST_HOOKS: let browser test hooks act (never in production)
    # Per client address (parley.server.rate_limit): (at once, then per minute).
    connection_rate: tuple[int, float] = (30, 60.0)
    identify_rate: tuple[int, float] = (20, 30.0)

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'parley.db'}"


def _listed(value: Any) -> tuple[str, ...]:
    """A list from the file, or a comma-separated variable (empty: none, not one named "")."""
    return tuple(s.strip() for s in value.split(",") if s.strip()) if isinstance(value, str) else tuple(value)


def _coerce(name: str, value: Any) -> Any:
    if name == "web_dir":
        return Path(str(value)).expanduser() if value else None
    if name == "data_dir":
        return Path(str(value)).expanduser() if value else Settings().data_dir
    if name in ("port", "janus_ws_port", "turn_ttl"):
        return int(value)
    if name == "rtp_port_range":
        low, high = (int(v) for v in (value.split("-") if isinstance(value, str) else value))
        return (low, high)
    if name in ("connection_rate", "identify_rate"):
        burst, per_minute = value.split(",") if isinstance(value, str) else value
        return (int(burst), float(per_minute))
    if name == "turn_servers":
        return _listed(value)
    if name == "client_origins":
        return tuple(origin_of(origin) for origin in _listed(value))
    if name in ("ipv6", "test_hooks"):
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
    return str(value)


def load_settings(
    path: Path | None = None, environ: Mapping[str, str] = os.environ, **overrides: Any
) -> Settings:
    """Defaults, then the file's [server] and [media] tables, then PARLEY_* variables, then overrides."""
    values: dict[str, Any] = {}
    if path is not None:
        with path.open("rb") as stream:
            document = tomllib.load(stream)
        for section in ("server", "media"):
            table = document.get(section, {})
            unknown = set(table) - {known.name for known in fields(Settings)}
            if unknown:
                raise ValueError(f"{path}: unknown setting(s) in [{section}]: {', '.join(sorted(unknown))}")
            values.update(table)
    for f in fields(Settings):
        env = environ.get(f"PARLEY_{f.name.upper()}")
        if env is not None:
            values[f.name] = env
    values.update({k: v for k, v in overrides.items() if v is not None})
    return replace(Settings(), **{k: _coerce(k, v) for k, v in values.items()})

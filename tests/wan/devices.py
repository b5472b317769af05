"""SDK devices in their delegation's namespace, though they run in the test's own event loop.

A socket lives in the namespace its creating thread was in. The server, Janus and the test stay in
the run's namespace; a device is moved out by `at(site)`, which marks the current asyncio context:
every socket the device's code opens while the mark holds, and in every task it starts meanwhile
(a task copies its context when it is created), is opened inside the site's devices' namespace, and
so is aioice's list of local addresses. Other tasks (the server's, another device's) are untouched.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Collection, Iterator
from contextvars import ContextVar

import aioice.ice
from wan.namespace import entered
from wan.topology import Site, Wan

_site: ContextVar[Site | None] = ContextVar("wan_site", default=None)
_offices: dict[str, Site] = {}  # delegation name -> its site, while `offices` holds


@contextlib.contextmanager
def offices(wan: Wan, delegations: list[str], udp_blocked: Collection[str] = ()) -> Iterator[None]:
    """One site per delegation on `wan` (those in `udp_blocked` behind a firewall that forwards no
    UDP), and sockets opened where `at` says, until the block ends."""
    original_init = socket.socket.__init__
    original_addresses = aioice.ice.get_host_addresses

    def init(
        self: socket.socket,
        family: int = -1,
        type: int = -1,
        proto: int = -1,
        fileno: int | None = None,
    ) -> None:
        site = _site.get()
        if site is None or fileno is not None:
            original_init(self, family, type, proto, fileno)
            return
        with entered(site.devices.path):
            original_init(self, family, type, proto, fileno)

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        site = _site.get()
        if site is None:
            return original_addresses(use_ipv4, use_ipv6)
        with entered(site.devices.path):
            return original_addresses(use_ipv4, use_ipv6)

    for name in delegations:
        _offices[name] = wan.add(name, udp_blocked=name in udp_blocked)
    socket.socket.__init__ = init  # type: ignore[method-assign]
    aioice.ice.get_host_addresses = host_addresses
    try:
        yield
    finally:
        socket.socket.__init__ = original_init  # type: ignore[method-assign]
        aioice.ice.get_host_addresses = original_addresses
        _offices.clear()


def office(delegation: str) -> Site | None:
    """The delegation's site while `offices` holds, else None (the device stays on loopback)."""
    return _offices.get(delegation)


@contextlib.contextmanager
def at(site: Site | None) -> Iterator[None]:
    """Sockets opened in this context, and by tasks started in it, in the site's namespace."""
    token = _site.set(site)
    try:
        yield
    finally:
        _site.reset(token)

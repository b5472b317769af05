"""The test network of a WAN run: the server's namespace, and per delegation a NAT router and a LAN.

    server namespace (the run's own, from scripts/netns: Parley, Janus, the test process)
      127.0.1.1 on pv0 ── wanN 127.100.N.1/24
                              │ veth
                          router N: wN 127.100.N.2/24, MASQUERADE out of wN, the impairer on FORWARD
                              │ veth
                          lN 127.200.N.1/24 ── dN 127.200.N.2/24: delegation N's devices

Every address is in 127/8, so nothing here can name a host elsewhere; `route_localnet` lets those
addresses cross veths, and each namespace's lo keeps 127.0.0.1 only. The server's namespace routes
127.100.N.0/24 to its routers and has no route to the LANs (127.200/16 is unreachable there): it
sees only each router's address, as a server on the internet sees an office's NAT.

Everything the router forwards between lN and wN goes through NFQUEUE to the impairer (queue 1 up,
2 down); a profile's rate cap is a TBF qdisc on the router's egress (wN up, lN down). A site added
with `udp_blocked` has a firewall on its router that forwards no UDP at all, either way, as some
offices have: its devices reach the server by TCP alone (signalling, and media through a TURN
relay over TCP, `wan.relay`).
"""

from __future__ import annotations

import itertools
import json
import selectors
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path as FilePath

from wan.impairer import DOWN_QUEUE, UP_QUEUE
from wan.namespace import Namespace, entered, run
from wan.profiles import Path, Profile

SERVER_ADDRESS = "127.0.1.1"  # pv0 in the run's namespace: Janus's ICE address and the WAN server's
LANS = "127.200.0.0/16"
READY_TIMEOUT = 10.0
_numbers = itertools.count(1)  # one per site in this run: interface names and address blocks


@dataclass
class Site:
    """A delegation's office: its devices' namespace behind its own NAT router."""

    name: str
    number: int
    router: Namespace
    devices: Namespace
    udp_blocked: bool = False
    impairer: subprocess.Popen[bytes] | None = None
    overhead: dict[str, float] = field(default_factory=dict)

    @property
    def wan_address(self) -> str:
        """The router's address: all the server sees of this delegation."""
        return f"127.100.{self.number}.2"

    @property
    def lan_address(self) -> str:
        return f"127.200.{self.number}.2"

    def socket(self, kind: socket.SocketKind) -> socket.socket:
        """A socket in the devices' namespace."""
        with entered(self.devices.path):
            return socket.socket(socket.AF_INET, kind)

    def narrow_down(self, rate: int) -> None:
        """From now on the link towards the devices carries `rate` bit/s (as a profile's `down.rate`
        would have from the start): a hotel's link that fills up in the middle of a call."""
        self.router.run(["tc", "qdisc", "replace", "dev", f"l{self.number}", "root", *_tbf(Path(rate=rate))])


class Wan:
    """Sites joined to this namespace over an impaired path; `close()` takes every one down."""

    def __init__(self, profile: Profile | None, seed: int = 0) -> None:
        self.profile = profile
        self.seed = seed
        self.sites: list[Site] = []
        self._closed = False
        run(["sysctl", "-qw", "net.ipv4.conf.all.route_localnet=1"])
        run(["ip", "route", "replace", "unreachable", LANS, "table", "local"])

    def add(self, name: str, *, udp_blocked: bool = False) -> Site:
        """A site behind its NAT router; `udp_blocked`: the router forwards no UDP, either way."""
        number = next(_numbers)
        if number > 250:
            raise RuntimeError("a test run has room for 250 WAN sites")
        site = Site(name, number, Namespace(f"{name} router"), Namespace(f"{name} devices"), udp_blocked)
        self.sites.append(site)
        _link(site)
        if udp_blocked:
            # First on FORWARD, before the impairer's rules: a dropped packet never reaches a queue.
            site.router.run(["iptables", "-I", "FORWARD", "1", "-p", "udp", "-j", "DROP"])
        if self.profile is not None:
            # Seeded by the site's place in this WAN, not its number in the run: a test's packets
            # are lost alike whichever tests ran before it.
            _impair(site, self.profile, self.seed + len(self.sites))
        return site

    def close(self) -> None:
        """Stop the impairers (their overhead lands in each site's `overhead`), then the namespaces."""
        if self._closed:
            return
        self._closed = True
        for site in self.sites:
            if site.impairer is not None:
                site.impairer.terminate()
                out, _ = site.impairer.communicate(timeout=READY_TIMEOUT)
                site.overhead = json.loads(out.splitlines()[-1]) if out else {}
            site.router.close()  # the veths go with their namespaces
            site.devices.close()
        run(["ip", "route", "del", "unreachable", LANS, "table", "local"])


def _link(site: Site) -> None:
    n, router, devices = site.number, site.router, site.devices
    uplink = f"wan{n}"
    run(["ip", "link", "add", uplink, "type", "veth", "peer", "name", f"w{n}", "netns", router.pid])
    run(["ip", "addr", "add", f"127.100.{n}.1/24", "dev", uplink, "scope", "global"])
    run(["ip", "link", "set", uplink, "up"])
    run(["ip", "route", "add", f"127.100.{n}.0/24", "dev", uplink, "table", "local"])
    for command in (
        ["ip", "addr", "add", f"{site.wan_address}/24", "dev", f"w{n}", "scope", "global"],
        ["ip", "link", "set", f"w{n}", "up"],
        ["ip", "link", "add", f"l{n}", "type", "veth", "peer", "name", f"d{n}", "netns", devices.pid],
        ["ip", "addr", "add", f"127.200.{n}.1/24", "dev", f"l{n}", "scope", "global"],
        ["ip", "link", "set", f"l{n}", "up"],
        ["ip", "route", "add", "default", "via", f"127.100.{n}.1"],
        ["sysctl", "-qw", "net.ipv4.ip_forward=1"],
        ["iptables", "-t", "nat", "-A", "POSTROUTING", "-o", f"w{n}", "-j", "MASQUERADE"],
    ):
        router.run(command)
    for command in (
        ["ip", "addr", "add", f"{site.lan_address}/24", "dev", f"d{n}", "scope", "global"],
        ["ip", "link", "set", f"d{n}", "up"],
        ["ip", "route", "add", "default", "via", f"127.200.{n}.1"],
    ):
        devices.run(command)


def _impair(site: Site, profile: Profile, seed: int) -> None:
    n, router = site.number, site.router
    for into, out, queue in ((f"l{n}", f"w{n}", UP_QUEUE), (f"w{n}", f"l{n}", DOWN_QUEUE)):
        nfqueue = ["-j", "NFQUEUE", "--queue-num", str(queue), "--queue-bypass"]
        router.run(["iptables", "-A", "FORWARD", "-i", into, "-o", out, *nfqueue])
    for device, path in ((f"w{n}", profile.up), (f"l{n}", profile.down)):
        if path.rate is not None:
            router.run(["tc", "qdisc", "add", "dev", device, "root", *_tbf(path)])
    tests = str(FilePath(__file__).resolve().parent.parent)
    site.impairer = router.popen(
        [sys.executable, "-m", "wan.impairer", profile.to_json(), str(seed)],
        env={"PYTHONPATH": tests, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
    )
    _wait_ready(site.impairer)


def _tbf(path: Path) -> list[str]:
    """A token bucket at the path's rate: 20 ms of burst (at least one full packet), 100 ms of queue."""
    assert path.rate is not None
    burst = max(1600, path.rate // 8 // 50)
    return ["tbf", "rate", f"{path.rate}bit", "burst", str(burst), "latency", "100ms"]


def _wait_ready(process: subprocess.Popen[bytes]) -> None:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(READY_TIMEOUT) or process.stdout.readline() != b"ready\n":
            process.kill()
            raise RuntimeError("the impairer did not bind its queues (is netfilterqueue installed?)")

"""Measuring a WAN path as a user's traffic sees it: UDP echoes, and a UDP flood for the rate cap."""

from __future__ import annotations

import socket
import statistics
import struct
import threading
import time
from dataclasses import dataclass, field

from wan.topology import SERVER_ADDRESS, Site

PROBE = struct.Struct("!Id")  # sequence number, send time


@dataclass
class Echoes:
    """What `count` echoes from a site's devices to the server's namespace and back came to."""

    sent: int
    reached: int = 0  # counted at the server
    rtts: dict[int, float] = field(default_factory=dict)  # by sequence number, for those that came back
    peers: set[str] = field(default_factory=set)  # the source addresses the server saw

    @property
    def up_loss(self) -> float:
        return 1 - self.reached / self.sent

    @property
    def down_loss(self) -> float:
        return 1 - len(self.rtts) / self.reached

    @property
    def lost_runs(self) -> list[int]:
        """Lengths of the runs of consecutive echoes that did not come back."""
        runs, run = [], 0
        for sequence in range(self.sent):
            if sequence in self.rtts:
                if run:
                    runs.append(run)
                run = 0
            else:
                run += 1
        return [*runs, run] if run else runs

    @property
    def median_rtt(self) -> float:
        return statistics.median(self.rtts.values())

    @property
    def spread(self) -> float:
        """From the 5th to the 95th percentile of the round trip: the jitter, without the odd stall
        of a busy machine that a standard deviation would count."""
        rtts = sorted(self.rtts.values())
        return rtts[len(rtts) * 95 // 100] - rtts[len(rtts) * 5 // 100]


class EchoServer:
    """A UDP echo on the server's address, in this (the server's) namespace, in a thread of its own."""

    def __init__(self, echoes: Echoes) -> None:
        self._echoes = echoes
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind((SERVER_ADDRESS, 0))
        self._socket.settimeout(0.1)
        self.address: tuple[str, int] = self._socket.getsockname()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self._socket.recvfrom(2048)
            except TimeoutError:
                continue
            self._echoes.reached += 1
            self._echoes.peers.add(peer[0])
            self._socket.sendto(data, peer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._socket.close()


def echo(site: Site, count: int, interval: float, rtt_bound: float) -> Echoes:
    """Send `count` echoes `interval` s apart from the site's devices; wait `rtt_bound` s for stragglers."""
    echoes = Echoes(count)
    server = EchoServer(echoes)
    client = site.socket(socket.SOCK_DGRAM)
    sender = threading.Thread(target=_send, args=(client, server.address, count, interval), daemon=True)
    try:
        sender.start()
        deadline = time.monotonic() + count * interval + rtt_bound
        while len(echoes.rtts) < count and (left := deadline - time.monotonic()) > 0:
            client.settimeout(left)
            try:
                data = client.recv(2048)
            except TimeoutError:
                break
            sequence, sent_at = PROBE.unpack(data)
            echoes.rtts[sequence] = time.monotonic() - sent_at
        sender.join()
    finally:
        client.close()
        server.close()
    return echoes


def _send(client: socket.socket, to: tuple[str, int], count: int, interval: float) -> None:
    start = time.monotonic()
    for sequence in range(count):
        time.sleep(max(0.0, start + sequence * interval - time.monotonic()))  # pacing, not ordering
        client.sendto(PROBE.pack(sequence, time.monotonic()), to)


def flood_rate(site: Site, bits_per_second: int, seconds: float, size: int = 1200) -> float:
    """Send UDP from the site's devices at `bits_per_second` for `seconds`; the rate that arrived (bit/s).

    The arrival rate is measured from the first packet's arrival to the last one's, so the path's delay
    does not count against it.
    """
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind((SERVER_ADDRESS, 0))
    client = site.socket(socket.SOCK_DGRAM)
    count = int(bits_per_second * seconds / 8 / size)
    sender = threading.Thread(
        target=_flood, args=(client, receiver.getsockname(), count, size * 8 / bits_per_second, size)
    )
    arrivals: list[float] = []
    try:
        sender.start()
        receiver.settimeout(2.0)
        while len(arrivals) < count:
            try:
                received = len(receiver.recv(size))
            except TimeoutError:
                break
            assert received == size
            arrivals.append(time.monotonic())
        sender.join()
    finally:
        client.close()
        receiver.close()
    if len(arrivals) < 2:
        raise AssertionError("the flood did not get through")
    return (len(arrivals) - 1) * size * 8 / (arrivals[-1] - arrivals[0])


def _flood(client: socket.socket, to: tuple[str, int], count: int, interval: float, size: int) -> None:
    start, payload = time.monotonic(), bytes(size)
    for sequence in range(count):
        time.sleep(max(0.0, start + sequence * interval - time.monotonic()))
        client.sendto(payload, to)

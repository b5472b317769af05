"""Network namespaces a test makes for itself, and entering one to open sockets in it.

Each `Namespace` is held open by a sleeping child of `unshare --net`, and dies with it: nothing is
named under /run/netns, so a test that is killed leaves no namespace behind. Commands run inside with
`nsenter`; this process opens a socket inside by `entered()`, which moves only the calling thread.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
from collections.abc import Iterator, Sequence

CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent() -> None:
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Namespace:
    """A network namespace made by this test: loopback up and holding 127.0.0.1 only, IPv4 only.

    127.0.0.1/8 on lo would make every 127.x address local; the test networks use the rest of
    127/8 as ordinary addresses (`route_localnet` lets them through veths).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._holder = subprocess.Popen(
            ["unshare", "--net", "--", "sh", "-c", "echo ready && exec sleep infinity"],
            stdout=subprocess.PIPE,
            preexec_fn=_die_with_parent,
        )
        assert self._holder.stdout is not None
        if self._holder.stdout.readline() != b"ready\n":
            raise RuntimeError(f"namespace {name}: unshare failed")
        self.pid = str(self._holder.pid)
        self.path = f"/proc/{self.pid}/ns/net"
        for command in (
            ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"],
            ["sysctl", "-qw", "net.ipv4.conf.all.route_localnet=1"],
            ["sysctl", "-qw", "net.ipv4.conf.default.route_localnet=1"],
            ["ip", "link", "set", "lo", "up"],
            ["ip", "addr", "del", "127.0.0.1/8", "dev", "lo"],
            ["ip", "addr", "add", "127.0.0.1/32", "dev", "lo"],
        ):
            self.run(command)

    def run(self, command: Sequence[str]) -> None:
        """Run `command` inside, failing loudly with what it printed."""
        run(self._enter(command))

    def popen(self, command: Sequence[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        """Start `command` inside, its output piped to the caller."""
        return subprocess.Popen(self._enter(command), stdout=subprocess.PIPE, env=env)

    def _enter(self, command: Sequence[str]) -> list[str]:
        return ["nsenter", f"--net={self.path}", *command]

    def close(self) -> None:
        self._holder.kill()
        self._holder.wait()
        assert self._holder.stdout is not None
        self._holder.stdout.close()


def run(command: Sequence[str]) -> None:
    """Run `command` where this thread is, raising with what it printed if it fails."""
    done = subprocess.run(command, capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.decode().strip()}")


@contextlib.contextmanager
def entered(path: str) -> Iterator[None]:
    """The calling thread inside the namespace at `path` until the block ends.

    Sockets opened in the block stay in that namespace after it; keep awaits out of it, since other
    tasks of this thread's event loop would run there too.
    """
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(path, os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(target)
        os.close(own)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))

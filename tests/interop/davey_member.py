"""Drive the browser's DAVE member (`web/src/e2ee/daveMember.ts`, on davey's Node build) from Python tests.

The member runs in a Node child process, `web/interop/member.ts` compiled by `tsc` (`npm run
build:interop`, once per test session, so the tests always run the member as the page ships it),
speaking one JSON request and one JSON response per line. This wrapper makes each call
synchronous, with a timeout, so a test can play the DAVE gateway against it exactly as it does
against dave.py.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from queue import Empty, Queue
from types import TracebackType
from typing import IO, Any, Self

import pytest

from parley.protocol.dave_ops import DaveDeviceOp, DaveServerOp, parse_dave_device_op

__all__ = ["DaveyError", "DaveyMember", "build_member", "davey_installed"]

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
MEMBER_SCRIPT = WEB_DIR / "interop" / "build" / "interop" / "member.js"
TIMEOUT_S = 30.0  # davey's calls take milliseconds; only a scrypt fingerprint takes ~0.3 s


class DaveyError(RuntimeError):
    """The davey member refused a request, died, or did not answer in time."""


def _npm(*args: str) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise DaveyError("npm is not on PATH: install Node.js 20+ to run the davey interop tests")
    done = subprocess.run([npm, *args], cwd=WEB_DIR, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        output = done.stdout[-2000:] + done.stderr[-2000:]
        raise DaveyError(f"npm {' '.join(args)} in {WEB_DIR} failed:\n{output}")


def build_member() -> None:
    """Compile the member from today's sources (web's pinned davey and tsc; `npm ci` first if missing)."""
    if not (WEB_DIR / "node_modules" / ".package-lock.json").is_file():
        # Exactly the lock: the davey build the page ships.
        _npm("ci", "--no-audit", "--no-fund", "--loglevel=error")
    _npm("run", "--silent", "build:interop")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise DaveyError(f"expected base64 text from davey, got {text!r}")
    return base64.b64decode(text, validate=True)


class DaveyMember:
    """The page's DAVE member, on davey, in its own Node process.

    `receive_wire` takes what the gateway sends (bytes: a server binary frame `u16 seq | u8 op |
    payload`; dict: a JSON op `{"op": n, "d": {...}}`) and returns what the member sends back
    (bytes: a client frame `u8 op | payload`; dict: a JSON op). Alarms the member raises
    ("reason: detail": downgrade attempts, duplicate user ids, members the roster does not
    explain) accumulate in `alarms`. Like the page, it sends nothing while the key group holds a
    member the roster (`set_roster`, the server's roster op) does not explain.
    """

    def __init__(self, user_id: int, group_id: int, timeout: float = TIMEOUT_S) -> None:
        node = shutil.which("node")
        if node is None:
            raise DaveyError("node is not on PATH: install Node.js 20+ to run the davey interop tests")
        self.user_id = user_id
        self.alarms: list[str] = []
        self._timeout = timeout
        self._next_id = 0
        self._proc = subprocess.Popen(
            [node, str(MEMBER_SCRIPT)],
            cwd=WEB_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
            env={**os.environ, "NODE_NO_WARNINGS": "1"},
        )
        assert self._proc.stdout is not None and self._proc.stderr is not None
        # Reader threads, so a timeout never blocks on a pipe and stderr can never fill up and stall.
        self._lines: Queue[str | None] = Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=40)
        threading.Thread(target=self._pump_stdout, args=(self._proc.stdout,), daemon=True).start()
        threading.Thread(target=self._pump_stderr, args=(self._proc.stderr,), daemon=True).start()
        try:
            self._call("init", user_id=str(user_id), group_id=str(group_id))
        except BaseException:
            self.close()
            raise

    def _pump_stdout(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)  # end of stdout: the child is gone

    def _pump_stderr(self, stream: IO[str]) -> None:
        for line in stream:
            self._stderr.append(line.rstrip("\n"))

    def _stderr_tail(self) -> str:
        return "\n".join(list(self._stderr)) or "(no stderr)"

    def _call(self, cmd: str, **args: object) -> dict[str, object]:
        """Send one request and wait for its response; `ok: false` raises DaveyError."""
        self._next_id += 1
        request_id = self._next_id
        stdin = self._proc.stdin
        if stdin is None or self._proc.poll() is not None:
            raise DaveyError(f"davey member is not running; stderr:\n{self._stderr_tail()}")
        try:
            stdin.write(json.dumps({"id": request_id, "cmd": cmd, **args}) + "\n")
            stdin.flush()
        except OSError as exc:
            raise DaveyError(f"davey member stdin closed ({exc}); stderr:\n{self._stderr_tail()}") from exc
        try:
            line = self._lines.get(timeout=self._timeout)
        except Empty:
            # A late answer would be taken for the next request's: end the child so nothing is misread.
            self._proc.kill()
            raise DaveyError(
                f"davey member gave no answer to {cmd!r} in {self._timeout} s; stderr:\n{self._stderr_tail()}"
            ) from None
        if line is None:
            raise DaveyError(f"davey member exited during {cmd!r}; stderr:\n{self._stderr_tail()}")
        response = json.loads(line)
        if not isinstance(response, dict) or response.get("id") != request_id:
            raise DaveyError(f"davey member answered out of order: {line[:200]}")
        alarms = response.get("alarms")
        if not isinstance(alarms, list) or not all(isinstance(a, str) for a in alarms):
            raise DaveyError(f"davey member: no 'alarms' list in {line[:200]}")
        self.alarms.extend(alarms)
        if response.get("ok") is not True:
            raise DaveyError(f"davey {cmd} failed: {response.get('error')}")
        return response

    # ---- the member's API ----------------------------------------------------------------

    def receive_wire(self, message: bytes | DaveServerOp | Mapping[str, Any]) -> list[bytes | DaveDeviceOp]:
        """A server frame in (a mapping goes as it is: junk no server sends, for tests), what the
        member sends back out."""
        if isinstance(message, bytes):
            wire: dict[str, Any] = {"binary": _b64(message)}
        else:
            wire = {"json": message if isinstance(message, Mapping) else message.model_dump(mode="json")}
        response = self._call("receive", message=wire)
        sent = response.get("send")
        if not isinstance(sent, list):
            raise DaveyError(f"receive: no 'send' list in {response!r}")
        out: list[bytes | DaveDeviceOp] = []
        for item in sent:
            if not isinstance(item, dict):
                raise DaveyError(f"receive: malformed outgoing message {item!r}")
            if "binary" in item:
                out.append(_unb64(item["binary"]))
            elif isinstance(item.get("json"), dict):
                out.append(parse_dave_device_op(item["json"]))  # as the server's edge reads it
            else:
                raise DaveyError(f"receive: malformed outgoing message {item!r}")
        return out

    def set_roster(self, user_ids: Iterable[int]) -> None:
        """The roster op as the server sends it (without keys): who is in the call."""
        self._call("roster", devices=[{"user_id": str(u), "key": None} for u in user_ids])

    def encrypt(self, media: str, frame: bytes) -> bytes | None:
        """The sealed frame, or None when the member sends nothing (no key yet, a transition, held)."""
        data = self._call("encrypt", media=media, data=_b64(frame))["data"]
        return None if data is None else _unb64(data)

    def decrypt(self, sender_user_id: int, media: str, frame: bytes) -> bytes | None:
        """The plaintext frame, or None when davey cannot decrypt it (wrong key, garbage, ...)."""
        data = self._call("decrypt", user_id=str(sender_user_id), media=media, data=_b64(frame))["data"]
        return None if data is None else _unb64(data)

    def group_code(self) -> str | None:
        """The group code as the page shows it (digits in groups of five), None outside a group."""
        code = self._call("group_code")["code"]
        return code if isinstance(code, str) else None

    def pairwise_code(self, user_id: int) -> str:
        """The pairwise code with `user_id` as the page shows it."""
        code = self._call("pairwise_code", user_id=str(user_id))["code"]
        if not isinstance(code, str):
            raise DaveyError(f"pairwise_code: expected a string, got {code!r}")
        return code

    def state(self) -> dict[str, object]:
        response = self._call("state")
        return {k: v for k, v in response.items() if k not in ("id", "ok", "alarms")}

    def members(self) -> list[dict[str, str]]:
        """Every device of the key group and the roster with its status, as the page lists them."""
        members = self.state()["members"]
        assert isinstance(members, list)
        return members

    def user_ids(self) -> list[int]:
        """The user ids in davey's group, sorted (duplicates kept: davey allows them)."""
        ids = self.state()["user_ids"]
        assert isinstance(ids, list)
        return sorted(int(u) for u in ids)

    def leaf_index(self) -> int | None:
        """davey's own leaf index in its group, None when it is in none."""
        index = self.state()["own_leaf_index"]
        assert index is None or isinstance(index, int)
        return index

    def close(self) -> None:
        if self._proc.poll() is None:
            with contextlib.suppress(DaveyError):  # it may die on its own; the wait below still reaps it
                self._call("quit")
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        # stdout/stderr reach EOF with the child; their reader threads end by themselves.
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            self._proc.stdin.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


@pytest.fixture(scope="session")
def davey_installed() -> None:
    """For the interop tests. No skip when Node is missing: a green run must mean davey was tested."""
    build_member()

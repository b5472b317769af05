"""Janus as a managed child of the Parley server: start, health, restart on crash, stop.

Janus holds no state Parley cannot rebuild (rooms are created over the API), so a crash is handled by
starting a fresh Janus and letting the server re-create its rooms and ask clients to renegotiate: that is
what the ``on_restart`` callbacks are for. Janus's own daemon mode is not used: the supervisor must be the
parent to see the exit at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import enum
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import websockets

from parley.media.janus_api import JanusException
from parley.media.janus_client import JanusClient
from parley.media.janus_config import JanusConfig

logger = logging.getLogger(__name__)

RestartCallback = Callable[[], Awaitable[None]]

#: Delays before successive restarts; the last repeats. Reset after Janus has run STABLE_AFTER seconds.
RESTART_BACKOFF = (0.0, 0.5, 1.0, 2.0, 5.0)
STABLE_AFTER = 30.0
#: Janus answers ``info`` ~0.1 s after exec here; allow for a loaded machine.
READY_TIMEOUT = 10.0
#: A live process whose API stops answering is hung: after this many failed probes it is killed.
PROBE_INTERVAL = 5.0
PROBE_FAILURES = 3
STOP_TIMEOUT = 5.0


class JanusStartError(RuntimeError):
    """Janus exited, or did not answer ``info``, while starting."""


# What a health or readiness probe may meet: nothing listening, a timeout, a socket that is not Janus's,
# a connection dropped mid-answer, or another Janus on the port (JanusStartError).
_NOT_READY = (OSError, TimeoutError, websockets.InvalidHandshake, JanusException)
_PROBE_ERRORS = (*_NOT_READY, JanusStartError)


class State(enum.Enum):
    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    RESTARTING = "restarting"
    STOPPING = "stopping"


def _parent_death_signal() -> Callable[[], None] | None:
    """A pre-exec hook asking Linux to SIGKILL Janus if the Parley process dies without stopping it."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    prctl = libc.prctl  # looked up now: the hook runs between fork and exec and must not import or lock
    pr_set_pdeathsig = 1
    kill = int(signal.SIGKILL)

    def hook() -> None:
        prctl(pr_set_pdeathsig, kill, 0, 0, 0)

    return hook


def _log_supervisor_failure(task: asyncio.Task[None]) -> None:
    # The watcher only ends by cancellation; anything else is a bug that leaves Janus unsupervised.
    if not task.cancelled() and (exc := task.exception()) is not None:
        logger.error("Janus supervisor died; Janus is no longer restarted", exc_info=exc)


class JanusProcess:
    """Supervises one Janus child process; the Parley server owns it for its lifetime.

    ``start()`` writes ``config`` into ``directory`` and returns once the API answers; a watcher task then
    restarts Janus whenever it exits or stops answering, and runs the ``on_restart`` callbacks once the new
    one answers. ``stop()`` ends the watcher and Janus.
    """

    def __init__(
        self,
        config: JanusConfig,
        directory: Path,
        *,
        executable: str = "janus",
        backoff: Sequence[float] = RESTART_BACKOFF,
        ready_timeout: float = READY_TIMEOUT,
        probe_interval: float = PROBE_INTERVAL,
    ) -> None:
        if not backoff:
            raise ValueError("backoff needs at least one delay")
        self.config = config
        self.directory = directory
        self.executable = executable
        self._backoff = tuple(backoff)
        self._ready_timeout = ready_timeout
        self._probe_interval = probe_interval
        self._process: asyncio.subprocess.Process | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._callbacks: list[RestartCallback] = []
        self._state = State.STOPPED
        self._answering = False
        self.restarts = 0

    @property
    def log_path(self) -> Path:
        return self.directory / "janus.log"

    @property
    def url(self) -> str:
        return self.config.ws_url

    @property
    def pid(self) -> int | None:
        """The running Janus's process id (it changes on restart)."""
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    @property
    def state(self) -> State:
        return self._state

    def healthy(self) -> bool:
        """True while Janus runs and last answered its health probe."""
        return self._state is State.RUNNING and self._answering and self.pid is not None

    def on_restart(self, callback: RestartCallback) -> None:
        """Await ``callback()`` after each restart, once the new Janus answers (rooms are gone then)."""
        self._callbacks.append(callback)

    async def start(self) -> None:
        if self._state is not State.STOPPED:
            raise RuntimeError(f"Cannot start a JanusProcess that is {self._state.value}")
        self._set_state(State.STARTING)
        try:
            await self._spawn()
        except BaseException:
            self._set_state(State.STOPPED)
            raise
        self._set_state(State.RUNNING)
        self._watcher = asyncio.create_task(self._watch(), name="janus-supervisor")
        self._watcher.add_done_callback(_log_supervisor_failure)

    async def stop(self) -> None:
        """Stop supervising and terminate Janus (SIGTERM, then SIGKILL after STOP_TIMEOUT)."""
        if self._state is State.STOPPED:
            return
        self._set_state(State.STOPPING)
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        await self._terminate()
        self._set_state(State.STOPPED)

    async def __aenter__(self) -> JanusProcess:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- internals

    def _set_state(self, state: State) -> None:
        if state is not self._state:
            logger.info("Janus %s -> %s", self._state.value, state.value)
            self._state = state

    async def _spawn(self) -> None:
        config_file = self.config.write(self.directory)
        out_fd = os.open(self.directory / "janus.out", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with open(out_fd, "ab") as out:  # banner and anything printed before logging
            self._process = await asyncio.create_subprocess_exec(
                self.executable,
                "-C",
                str(config_file),
                "-F",
                str(self.directory),
                "-L",
                str(self.log_path),
                "-N",  # no logging to stdout: the log file has it
                "-o",  # no colours in the log
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_parent_death_signal(),
                umask=0o077,  # its log names rooms and addresses: owner-only, like its config
            )
        try:
            await self._wait_ready(self._process)
        except BaseException:
            await self._terminate()
            raise
        self._answering = True
        logger.info("Janus (pid %s) answers on %s", self._process.pid, self.url)

    async def _wait_ready(self, process: asyncio.subprocess.Process) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._ready_timeout
        while True:
            if process.returncode is not None:
                raise JanusStartError(
                    f"Janus exited with {process.returncode} while starting; see {self.log_path}"
                )
            try:
                await (await self._probe(None, timeout=1.0)).close()
                return
            except _NOT_READY:
                pass  # not listening yet
            if loop.time() > deadline:
                raise JanusStartError(f"Janus did not answer on {self.url} within {self._ready_timeout} s")
            await asyncio.sleep(0.02)

    async def _probe(self, client: JanusClient | None, *, timeout: float) -> JanusClient:
        """Ask ``info`` over ``client`` (a new connection if None or closed) and return the client to reuse.

        Fails if another Janus answers (a stale one on the same port), or on any error, after closing the
        client: the health check keeps one connection rather than logging a new one every probe in Janus.
        """
        try:
            async with asyncio.timeout(timeout):
                if client is None or client.closed:
                    client = await JanusClient.connect(
                        self.url, self.config.api_secret, open_timeout=timeout, close_timeout=timeout
                    )
                info = await client.info()
            if info.log_path != str(self.log_path):
                raise JanusStartError(f"Another Janus (log {info.log_path}) answers on {self.url}")
        except BaseException:
            if client is not None:
                await client.close()
            raise
        return client

    async def _terminate(self) -> None:
        self._answering = False
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            async with asyncio.timeout(STOP_TIMEOUT):
                await process.wait()
        except TimeoutError:
            logger.warning("Janus (pid %s) ignored SIGTERM for %s s; killing it", process.pid, STOP_TIMEOUT)
            process.kill()
            await process.wait()

    async def _watch(self) -> None:
        """The supervisor loop: wait for an exit or a hang, then restart with backoff."""
        failures = 0  # consecutive restarts that did not run STABLE_AFTER seconds
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await self._until_dead()
            if loop.time() - started >= STABLE_AFTER:
                failures = 0
            self._set_state(State.RESTARTING)
            while True:
                delay = self._backoff[min(failures, len(self._backoff) - 1)]
                failures += 1
                await asyncio.sleep(delay)
                try:
                    await self._spawn()
                    break
                except (JanusStartError, OSError) as exc:
                    logger.error("Janus restart failed: %s", exc)
            self.restarts += 1
            self._set_state(State.RUNNING)
            for callback in list(self._callbacks):
                try:
                    await callback()
                except Exception:
                    logger.exception("Janus on_restart callback failed")

    async def _until_dead(self) -> None:
        """Return when the child has exited, or has been killed for failing PROBE_FAILURES probes in a row."""
        process = self._process
        assert process is not None
        misses = 0
        probe: JanusClient | None = None
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._probe_interval):
                        code = await process.wait()
                        logger.error("Janus (pid %s) exited with %s; restarting", process.pid, code)
                        return
                try:
                    probe = await self._probe(probe, timeout=min(2.0, self._probe_interval))
                    self._answering = True
                    misses = 0
                except _PROBE_ERRORS as exc:
                    probe = None
                    self._answering = False
                    misses += 1
                    logger.warning("Janus health probe failed (%s/%s): %s", misses, PROBE_FAILURES, exc)
                    if misses >= PROBE_FAILURES:
                        logger.error("Janus (pid %s) stopped answering; killing it", process.pid)
                        process.kill()
                        await process.wait()
                        return
        finally:
            if probe is not None:
                await probe.close()

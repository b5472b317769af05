"""`parley serve` as an object: the store, a supervised Janus, the media plane, the web server.

`ParleyServer.start()` returns once everything answers; `stop()` undoes it in reverse. Tests run
it in their own event loop; the CLI runs it until a signal.

The data directory (mode 0700, see parley.server.data_dir) keeps what must survive restarts: the
database (SQLite by default), the invitation secret (so links stay valid) and the admin token; a
secret there that others can read stops the start. Janus's API secret is new at every start: only
this process ever uses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time

import uvicorn

from parley.e2ee.opcodes import MAX_BINARY_FRAME
from parley.media.janus_config import JanusConfig
from parley.media.janus_process import JanusProcess
from parley.media.plane import JanusMediaPlane
from parley.server.app import ServerState, create_app
from parley.server.config import Settings
from parley.server.data_dir import ServerFiles
from parley.server.ice import IceServers, janus_turn_server
from parley.server.origins import BrowserOrigins
from parley.server.rate_limit import Rate, SignalingLimits
from parley.summit.invitations import InvitationSigner

log = logging.getLogger(__name__)


def _stun(server: str) -> tuple[str, int] | None:
    if not server:
        return None
    host, _, port = server.rpartition(":")
    return (host, int(port)) if host else (server, 3478)


class ParleyServer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.data_dir = settings.data_dir
        files = ServerFiles(settings.data_dir)
        self.admin_token = files.admin_token()  # secrets first: an unsafe one stops us before anything opens
        self.signer = InvitationSigner(files.invitation_secret())
        self.store = files.open_store(settings)
        janus_secret = secrets.token_urlsafe(24)
        ice = IceServers(settings.stun_server, settings.turn_servers, settings.turn_secret, settings.turn_ttl)
        janus_turn = (
            janus_turn_server(settings.janus_turn_server, settings.turn_secret, time.time())
            if settings.janus_turn_server
            else None
        )
        self.janus = JanusProcess(
            JanusConfig(
                ws_port=settings.janus_ws_port,
                api_secret=janus_secret,
                rtp_port_range=settings.rtp_port_range,
                ice_enforce_list=settings.ice_enforce_list or None,
                ignore_mdns=True,
                ipv6=settings.ipv6,
                nat_1_1_mapping=settings.nat_1_1_mapping or None,
                stun_server=_stun(settings.stun_server),
                turn_server=janus_turn,
            ),
            files.janus_folder(),
        )
        self.media = JanusMediaPlane(self.janus.url, janus_secret)
        self.state = ServerState(
            self.store,
            self.signer,
            self.media,
            settings.base_url,
            ice,
            settings.test_hooks,
            SignalingLimits(Rate(*settings.connection_rate), Rate(*settings.identify_rate)),
        )
        self._server: uvicorn.Server | None = None
        self._serving: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.janus.start()
        await self.media.connect()
        self.janus.on_restart(self._janus_restarted)
        origins = BrowserOrigins.of(self.settings.base_url, self.settings.client_origins)
        app = create_app(self.state, self.admin_token, origins, self.settings.web_dir)
        config = uvicorn.Config(
            app,
            host=self.settings.host,
            port=self.settings.port,
            ws_max_size=MAX_BINARY_FRAME + 16,
            log_level="warning",
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._serving = asyncio.create_task(self._server.serve(), name="parley-http")
        while not self._server.started:
            if self._serving.done():
                self._serving.result()  # raises why it could not start (port in use, ...)
            await asyncio.sleep(0.02)
        log.info("Parley serving on %s", self.settings.base_url)

    async def _janus_restarted(self) -> None:
        log.warning("Janus restarted; reopening media for every room")
        await self.media.reconnect()
        await self.state.media_reset()

    async def serve_forever(self) -> None:
        assert self._serving is not None
        await self._serving

    async def stop(self) -> None:
        if self._server:
            self._server.should_exit = True
        if self._serving:
            with contextlib.suppress(asyncio.CancelledError):
                await self._serving
        for room in list(self.state.rooms.values()):
            await room.close()
        await self.media.close()
        await self.janus.stop()
        self.store.close()

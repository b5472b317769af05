"""Secrets at rest: the real server (and its real Janus) on a data directory that others could read.

A secret that was readable by others may have leaked, so the server refuses to start and names the
file and the chmod; what Parley makes itself (the database, Janus's folder, config and log) ends up
owner-only, whether it is new or was left lax by an earlier run.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from calls import local_server

from parley.cli import main
from parley.server.data_dir import UnsafeSecret
from parley.store.database import Store
from parley.summit.course import Admission, AtEnd

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _ordinary_umask() -> Iterator[None]:
    """Files made without an explicit mode come out 0644 and folders 0755, as on most systems."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.mark.parametrize("secret", ["admin.token", "invitation.key"])
async def test_the_server_refuses_to_start_on_a_secret_others_can_read(tmp_path: Path, secret: str) -> None:
    data_dir = tmp_path / "parley"
    data_dir.mkdir(mode=0o700)
    path = data_dir / secret
    path.write_bytes(b"an old secret, world-readable...")  # 32 bytes: a usable one
    path.chmod(0o644)

    with pytest.raises(UnsafeSecret) as refused:
        async with local_server(data_dir):
            raise AssertionError("the server started on a secret others could read")
    message = str(refused.value)
    assert str(path) in message and "mode 0644" in message and "may have leaked" in message
    assert f"chmod 600 {path}" in message
    assert mode(path) == 0o644  # left as it was: the operator decides
    assert not (data_dir / "parley.db").exists()  # refused before anything was opened


def test_parley_serve_prints_why_it_refuses_and_exits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "parley"
    data_dir.mkdir(mode=0o700)
    (data_dir / "admin.token").write_text("token")
    (data_dir / "admin.token").chmod(0o640)

    with pytest.raises(SystemExit) as exited:
        main(["--data-dir", str(data_dir), "serve"])
    assert f"chmod 600 {data_dir / 'admin.token'}" in str(exited.value.code)


def lax_earlier_run(data_dir: Path) -> None:
    """What a run under a lax umask left: a database, Janus's folder and log, open to others."""
    data_dir.mkdir(mode=0o755)
    Store(f"sqlite:///{data_dir / 'parley.db'}").close()
    (data_dir / "janus").mkdir(mode=0o755)
    (data_dir / "janus" / "janus.log").write_text("[earlier run] room 1234 on 10.0.0.5\n")
    (data_dir / "janus" / "janus.out").write_text("Janus banner\n")
    for path in (data_dir / "parley.db", data_dir / "janus" / "janus.log", data_dir / "janus" / "janus.out"):
        assert mode(path) == 0o644


@pytest.mark.parametrize("earlier", [False, True], ids=["fresh", "left-lax-by-an-earlier-run"])
async def test_the_database_and_janus_files_end_up_owner_only(
    tmp_path: Path, earlier: bool, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "parley"
    if earlier:
        lax_earlier_run(data_dir)
    async with local_server(data_dir) as server:
        summit = server.store.create_summit(
            "Talks", datetime.now(UTC), 60, [("Delegation A", "en")], Admission.OPEN, AtEnd.HARD_STOP, [], 0.2
        )  # the database is written to
        assert summit.summit_id
        made = sorted(p for p in data_dir.rglob("*"))
        janus = data_dir / "janus"
        assert {
            data_dir / "parley.db",
            janus / "janus.log",
            janus / "janus.out",
            janus / "janus.jcfg",
        } <= set(made)
        assert (janus / "janus.log").stat().st_size > 0  # Janus really logs into it
        open_to_others = {str(p): f"{mode(p):04o}" for p in [data_dir, *made] if mode(p) & 0o077}
        assert open_to_others == {}
    if earlier:
        repaired = [r.getMessage() for r in caplog.records if r.getMessage().startswith("made ")]
        assert any("parley.db" in m and "0644 -> 0600" in m for m in repaired), repaired
        assert any("janus.log" in m and "0644 -> 0600" in m for m in repaired), repaired

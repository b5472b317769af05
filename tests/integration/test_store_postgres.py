"""The store on PostgreSQL (production's database), as on SQLite: a real server the test starts.

The cluster is made in a temporary folder and listens on a Unix socket only (no TCP at all), so
the test reaches nothing but itself.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from stored_record import check_record_keeping

from parley.store.database import Store
from parley.summit.model import Role


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    assert found, "PostgreSQL is not installed (apt-get install postgresql; scripts/setup does it)"
    return found[-1]


@pytest.fixture
def postgres() -> Iterator[str]:
    # Not pytest's tmp_path: its parents are private to root, and the server runs as postgres.
    with tempfile.TemporaryDirectory(prefix="parley-pg-") as folder:
        yield from _cluster(Path(folder))


def _cluster(root: Path) -> Iterator[str]:
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres user
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, socket_dir = root / "data", root
    subprocess.run(
        [*as_user, _bin("initdb"), "-D", str(data), "-U", "parley", "-A", "trust"],
        check=True,
        capture_output=True,
    )
    options = f"-c listen_addresses='' -c unix_socket_directories={socket_dir} -c fsync=off"
    # -l: the server's output goes to a file, not to pipes this process would wait on forever.
    start = [_bin("pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-o", options, "-w", "start"]
    subprocess.run([*as_user, *start], check=True, capture_output=True, timeout=60)
    try:
        subprocess.run(
            [*as_user, _bin("createdb"), "-h", str(socket_dir), "-U", "parley", "parley"], check=True
        )
        yield f"postgresql+psycopg://parley@/parley?host={socket_dir}"
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            subprocess.run(
                [*as_user, _bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                check=True,
                capture_output=True,
            )


def test_summits_and_invitations_live_in_postgresql_and_survive_a_reopen(postgres: str) -> None:
    store = Store(postgres)
    start = datetime(2026, 12, 1, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    summit = store.create_summit(
        "Talks", start, 120, [("North", "en"), ("South", "fr")], languages=("en", "fr"), ducking=0.25
    )
    north = summit.delegations[0].delegation_id
    invitation = store.create_invitation(
        summit.summit_id, north, Role.HOST, datetime.now(UTC) + timedelta(hours=1)
    )
    interpreter = store.create_invitation(
        summit.summit_id, north, Role.INTERPRETER, datetime.now(UTC) + timedelta(hours=1), "fr"
    )
    store.close()

    again = Store(postgres)  # migrations run again: nothing to do, nothing lost
    try:
        loaded = again.get_summit(summit.summit_id)
        assert loaded == summit
        assert (
            loaded is not None
            and loaded.scheduled_start == start
            and loaded.scheduled_start.tzinfo is not None
        )
        assert [d.name for d in loaded.delegations] == ["North", "South"]
        assert loaded.languages == ("en", "fr") and loaded.ducking == 0.25
        assert again.get_invitation(interpreter.invitation_id) == interpreter
        assert again.get_invitation(invitation.invitation_id) == invitation
        assert again.revoke_invitation(invitation.invitation_id)
        assert again.get_invitation(invitation.invitation_id).revoked  # type: ignore[union-attr]
    finally:
        again.close()


def test_the_record_is_kept_in_order_in_postgresql_and_a_second_entry_at_a_kept_seq_is_refused(
    postgres: str,
) -> None:
    store = Store(postgres)
    try:
        check_record_keeping(store)
    finally:
        store.close()

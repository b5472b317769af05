"""The data directory and what is in it: owner-only, or the server says so and does not start.

The directory keeps the database (SQLite by default), the invitation secret (`invitation.key`,
which signs every invite link), the admin token (`admin.token`, the organiser endpoints'
password) and Janus's folder (its config holds the API secret of the current run, its log the
rooms and addresses). Two rules, by what a lax mode means:

- A **secret** that other users could read may already have leaked, and a leaked secret cannot be
  taken back by a chmod: the server refuses to start (`UnsafeSecret`), naming the file, and the
  operator decides (a new secret, or a chmod if it is known not to have leaked).
- Everything else Parley makes (the database and its journals, Janus's folder and files, the data
  directory itself) is put back to owner-only at start, and the log says what was changed: files
  an earlier version or a lax umask left readable.

New files are made owner-only from the start; repair is for what is already there.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from pathlib import Path

from parley.server.config import Settings
from parley.store.database import Store

log = logging.getLogger(__name__)

#: Bits that let anyone but the owner in.
OTHERS = 0o077
#: SQLite's database and the journals it keeps beside it.
SQLITE_FILES = ("parley.db", "parley.db-wal", "parley.db-shm", "parley.db-journal")
JANUS_FOLDER = "janus"


class UnsafeSecret(RuntimeError):
    """A secret file in the data directory is open to other users: it may have leaked."""

    def __init__(self, path: Path, mode: int, consequence: str) -> None:
        super().__init__(
            f"Parley will not start: {path} can be read by other users (mode {mode:04o}), so the secret"
            f" in it may have leaked. If it may have, delete the file and start again: a new one is made"
            f" ({consequence}). If you know it has not, make it private: chmod 600 {path}"
        )
        self.path = path


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def make_private(path: Path, mode: int) -> None:
    """Give `path` owner-only `mode` if others have any access to it; log the change."""
    was = _mode(path)
    if was & OTHERS:
        path.chmod(mode)
        log.warning("made %s private: mode %04o -> %04o", path, was, mode)


def _secret(path: Path, make: bytes, consequence: str) -> bytes:
    """Read a secret file, or create it owner-only with `make` as its content."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = _mode(path)
        if mode & OTHERS:
            raise UnsafeSecret(path, mode, consequence) from None
        return path.read_bytes()
    with os.fdopen(fd, "wb") as f:
        f.write(make)
    return make


class ServerFiles:
    """The data directory (mode 0700) and the files in it, checked and made on first use."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        make_private(data_dir, 0o700)

    def invitation_secret(self) -> bytes:
        return _secret(
            self.data_dir / "invitation.key",
            secrets.token_bytes(32),
            "every invite link issued so far stops working; issue new ones",
        )

    def admin_token(self) -> str:
        made = secrets.token_urlsafe(32).encode()
        return _secret(self.data_dir / "admin.token", made, "organisers need the new token").decode()

    def open_store(self, settings: Settings) -> Store:
        """The store the settings name; SQLite in this directory (the default) is kept owner-only.

        The database file is made 0600 before SQLite opens it: SQLite gives its journals the
        database file's mode, so they are private too.
        """
        if not settings.database_url:
            for name in SQLITE_FILES:
                if (self.data_dir / name).exists():
                    make_private(self.data_dir / name, 0o600)
            with contextlib.suppress(FileExistsError):
                os.close(
                    os.open(self.data_dir / SQLITE_FILES[0], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                )
        return Store(settings.database)

    def janus_folder(self) -> Path:
        """Janus's folder, 0700, every file in it 0600 (Janus makes its new files owner-only)."""
        folder = self.data_dir / JANUS_FOLDER
        folder.mkdir(mode=0o700, exist_ok=True)
        make_private(folder, 0o700)
        for path in folder.iterdir():
            if path.is_file() and not path.is_symlink():
                make_private(path, 0o600)
        return folder

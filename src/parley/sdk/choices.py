"""What a device chose to listen to, per summit, kept between joins.

A delegate who picked the Russian channel yesterday should hear it again today without looking
for the selector. The choice is a device's own: it lives in a file the caller names (the browser
keeps it in localStorage), never on the server. The file is owner-only, like the key file: which
language a delegation follows is not for other users of the machine.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from parley.summit.model import LANGUAGE_TAG

FLOOR = "floor"  # how the file spells "the floor" (None in the API)


class ListeningChoices:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return {}  # none yet, or damaged: start afresh rather than refuse to join
        if not isinstance(data, dict):
            return {}
        return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}

    def get(self, summit_id: str) -> tuple[bool, str | None]:
        """(whether a choice is stored, the channel or None for the floor)."""
        stored = self._read().get(summit_id)
        if stored is None or not (stored == FLOOR or LANGUAGE_TAG.fullmatch(stored)):
            return False, None
        return True, None if stored == FLOOR else stored

    def set(self, summit_id: str, channel: str | None) -> None:
        choices = self._read()
        choices[summit_id] = FLOOR if channel is None else channel
        temporary = self.path.with_name(self.path.name + ".tmp")
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(choices, f)
        temporary.replace(self.path)

"""The signature keys this device has seen, per summit and per invitation link, so that a device
that comes back on the same link with another key is shown as such ("new key since last call").

Devices keep their keys from call to call (the SDK's key file, a browser profile's IndexedDB),
and the pairwise code follows from the key: the same link with a new key means a new machine, a
new browser profile, or someone else holding the link. Worth a look, not an alarm. The roster
names each device's link by an opaque tag (`link`), stable per invitation.

Kept as JSON, owner-only: {summit id: {link tag: [keys, oldest first]}}. A damaged file reads as
empty; the comparison then starts over.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

MAX_KEYS_PER_LINK = 8  # a few devices per invitation, a few reinstalls
MAX_LINKS = 200  # per summit


class KeyMemory:
    def __init__(self, path: Path, summit_id: str) -> None:
        self.path = path
        self.summit_id = summit_id
        self._all = _read(path)
        summit = self._all.get(summit_id)
        self._known: dict[str, list[str]] = summit if isinstance(summit, dict) else {}
        self._answers: dict[tuple[str, str], bool] = {}  # as first seen: "new" for the whole stay

    def is_new_key(self, link: str, key: str) -> bool:
        """Did this link come with other keys before (this call or an earlier one), and not this
        one? Remembers it."""
        pair = (link, key)
        if pair not in self._answers:
            earlier = self._known.get(link)
            self._answers[pair] = earlier is not None and key not in earlier
            self._remember(link, key)
        return self._answers[pair]

    def _remember(self, link: str, key: str) -> None:
        keys = self._known.get(link, [])
        if key in keys:
            return
        self._known[link] = [*keys, key][-MAX_KEYS_PER_LINK:]
        for old in list(self._known)[: max(0, len(self._known) - MAX_LINKS)]:
            del self._known[old]
        self._all[self.summit_id] = self._known
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(self._all, f)


def _read(path: Path) -> dict[str, dict[str, list[str]]]:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(value, dict):
        return {}
    return {
        summit: {
            link: [k for k in keys if isinstance(k, str)]
            for link, keys in links.items()
            if isinstance(keys, list)
        }
        for summit, links in value.items()
        if isinstance(links, dict)
    }

"""KeyMemory: the keys each link came with, kept between calls in a private file."""

from __future__ import annotations

import stat
from pathlib import Path

from parley.sdk.key_memory import MAX_KEYS_PER_LINK, KeyMemory


def test_a_link_met_before_with_another_key_is_new_and_stays_new_for_the_stay(tmp_path: Path) -> None:
    path = tmp_path / "known-keys.json"
    first_call = KeyMemory(path, "summit")
    assert not first_call.is_new_key("link-a", "key-1")  # never met: nothing to compare with
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    next_call = KeyMemory(path, "summit")
    assert not next_call.is_new_key("link-a", "key-1")
    assert next_call.is_new_key("link-a", "key-2")
    assert next_call.is_new_key("link-a", "key-2")  # asked again in the same stay
    assert not KeyMemory(path, "summit").is_new_key("link-a", "key-2")  # a call later, it is known


def test_summits_are_apart_and_old_keys_make_room(tmp_path: Path) -> None:
    path = tmp_path / "known-keys.json"
    memory = KeyMemory(path, "one")
    memory.is_new_key("link", "key-0")
    assert not KeyMemory(path, "two").is_new_key("link", "key-9")
    for i in range(1, MAX_KEYS_PER_LINK + 1):
        memory.is_new_key("link", f"key-{i}")
    assert KeyMemory(path, "one").is_new_key("link", "key-0")  # the oldest was let go


def test_a_damaged_file_reads_as_nothing_known(tmp_path: Path) -> None:
    path = tmp_path / "known-keys.json"
    for damage in ("not json", "[1, 2]", '{"summit": [1]}', '{"summit": {"link": "key"}}'):
        path.write_text(damage)
        assert not KeyMemory(path, "summit").is_new_key("link", "key")

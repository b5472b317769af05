"""A device's listening choice per summit, kept in an owner-only file, surviving a damaged one."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from parley.sdk.choices import FLOOR, ListeningChoices


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "listening.json"


def test_nothing_is_stored_before_the_first_choice(path: Path) -> None:
    assert ListeningChoices(path).get("s1") == (False, None)
    assert not path.exists()


def test_a_language_and_the_floor_are_kept_per_summit_across_instances(path: Path) -> None:
    ListeningChoices(path).set("s1", "ru")
    ListeningChoices(path).set("s2", None)
    again = ListeningChoices(path)
    assert again.get("s1") == (True, "ru")
    assert again.get("s2") == (True, None)
    assert again.get("s3") == (False, None)


def test_the_floor_is_spelled_floor_in_the_file(path: Path) -> None:
    ListeningChoices(path).set("s1", None)
    ListeningChoices(path).set("s2", "zh-Hans")
    assert json.loads(path.read_text()) == {"s1": FLOOR, "s2": "zh-Hans"} and FLOOR == "floor"


def test_a_new_choice_replaces_the_old_one(path: Path) -> None:
    choices = ListeningChoices(path)
    choices.set("s1", "ru")
    choices.set("s1", "en")
    assert choices.get("s1") == (True, "en")


def test_the_file_is_owner_only_even_if_it_was_readable_by_others(path: Path) -> None:
    ListeningChoices(path).set("s1", "ru")
    assert os.stat(path).st_mode & 0o777 == 0o600
    path.chmod(0o644)
    ListeningChoices(path).set("s1", "en")
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_a_leftover_temporary_file_does_not_block_saving(path: Path) -> None:
    path.with_name(path.name + ".tmp").write_text("half a write")
    ListeningChoices(path).set("s1", "ru")
    assert ListeningChoices(path).get("s1") == (True, "ru")
    assert not path.with_name(path.name + ".tmp").exists()


@pytest.mark.parametrize("damage", [b"{not json", b"", b'{"s1": "ru"', b"\xff\xfe\x00garbage"])
def test_a_damaged_file_reads_as_no_choice_and_is_replaced_by_the_next_one(path: Path, damage: bytes) -> None:
    path.write_bytes(damage)
    choices = ListeningChoices(path)
    assert choices.get("s1") == (False, None)
    choices.set("s1", "en")
    assert choices.get("s1") == (True, "en")


@pytest.mark.parametrize("damage", ['["s1", "ru"]', "null", '"ru"'])
def test_a_file_of_json_that_is_not_an_object_reads_as_no_choice(path: Path, damage: str) -> None:
    path.write_text(damage)
    choices = ListeningChoices(path)
    assert choices.get("s1") == (False, None)
    choices.set("s1", "en")
    assert choices.get("s1") == (True, "en")


@pytest.mark.parametrize("stored", [5, None, ["ru"], {"channel": "ru"}, "", "e", "ru!", "en_US", "../../x"])
def test_an_invalid_stored_value_is_ignored_and_others_are_kept(path: Path, stored: object) -> None:
    path.write_text(json.dumps({"s1": stored, "s2": "ru"}))
    choices = ListeningChoices(path)
    assert choices.get("s1") == (False, None)
    assert choices.get("s2") == (True, "ru")
    choices.set("s3", None)
    assert choices.get("s2") == (True, "ru") and choices.get("s3") == (True, None)

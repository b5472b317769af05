"""A summit's language channels: what a language tag is, and what a delegation hears by default."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from parley.summit.model import DEFAULT_DUCKING, LANGUAGE_TAG, Delegation, Summit

NORTH = Delegation("d1", "s1", "North", "en")
SOUTH = Delegation("d2", "s1", "South", "ru")
EAST = Delegation("d3", "s1", "East", "ar")


def summit(languages: tuple[str, ...]) -> Summit:
    return Summit(
        "s1", "Talks", datetime(2027, 3, 1, tzinfo=UTC), 60, 42, (NORTH, SOUTH, EAST), languages=languages
    )


def test_a_delegation_hears_its_working_language_when_the_summit_interprets_into_it() -> None:
    interpreted = summit(("en", "ru"))
    assert interpreted.default_channel(NORTH) == "en"
    assert interpreted.default_channel(SOUTH) == "ru"


def test_a_delegation_hears_the_floor_when_its_language_has_no_channel() -> None:
    assert summit(("en", "ru")).default_channel(EAST) is None
    assert summit(()).default_channel(NORTH) is None


def test_a_summit_has_no_channels_and_a_fifth_of_the_floor_under_one_by_default() -> None:
    plain = Summit("s1", "Talks", datetime(2027, 3, 1, tzinfo=UTC), 60, 42)
    assert plain.languages == () and plain.ducking == DEFAULT_DUCKING == 0.2


@pytest.mark.parametrize("tag", ["en", "ru", "zh-Hans", "sr-Latn-RS", "yue", "yue-Hant-HK", "es-419", "EN"])
def test_language_tags_of_bcp_47_shape_are_accepted(tag: str) -> None:
    assert LANGUAGE_TAG.fullmatch(tag)


@pytest.mark.parametrize(
    "tag",
    [
        "",
        "e",
        "abcdefghi",
        "abcdefgh",  # four letters or more: not a language subtag Parley takes
        "en_US",
        "en-",
        "-en",
        "en--US",
        "en-a-b-c",
        "en US",
        "en\n",
        "ru!",
        "12",
        "en-123456789",
    ],
)
def test_anything_else_is_not_a_language_tag(tag: str) -> None:
    assert not LANGUAGE_TAG.fullmatch(tag)

"""The organiser's invitations (on a real SQLite store): an interpreter's names one of the summit's
languages, no other role's names one, and each link's token says so."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from parley.store.database import Store
from parley.summit.invitations import InvitationSigner
from parley.summit.model import Role, Summit
from parley.summit.organiser import Organiser, Seat

START = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)
SIGNER = InvitationSigner(bytes(range(32)))
DAY = timedelta(days=1)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(f"sqlite:///{tmp_path / 'parley.db'}")
    yield opened
    opened.close()


@pytest.fixture
def organiser(store: Store) -> Organiser:
    return Organiser(store, SIGNER, "https://parley.example/")


@pytest.fixture
def summit(store: Store) -> Summit:
    return store.create_summit(
        "Water rights", START, 90, [("North", "en"), ("South", "ru")], languages=("en", "ru")
    )


def token_of(link: str) -> str:
    return link.partition("#")[2]


def test_an_interpreter_invitation_keeps_its_language_in_the_store_and_the_token(
    store: Store, organiser: Organiser, summit: Summit
) -> None:
    north = summit.delegations[0].delegation_id
    invitation, link = organiser.invite(summit, north, Role.INTERPRETER, DAY, "ru")
    assert invitation.language == "ru" and store.get_invitation(invitation.invitation_id) == invitation
    assert link.startswith(f"https://parley.example/join/{summit.summit_id}#")
    claims = SIGNER.verify(token_of(link))
    assert claims.role is Role.INTERPRETER and claims.language == "ru"
    assert claims.invitation_id == invitation.invitation_id and claims.delegation_id == north


def test_an_interpreter_needs_one_of_the_summits_languages(organiser: Organiser, summit: Summit) -> None:
    north = summit.delegations[0].delegation_id
    for language in (None, "fr", "RU", ""):
        with pytest.raises(ValueError, match=r"one of the summit's languages \(en, ru\)"):
            organiser.invite(summit, north, Role.INTERPRETER, DAY, language)


def test_a_summit_without_languages_has_no_interpreters(store: Store, organiser: Organiser) -> None:
    plain = store.create_summit("Plain", START, 30, [("North", "en")])
    with pytest.raises(ValueError, match=r"\(none\)"):
        organiser.invite(plain, plain.delegations[0].delegation_id, Role.INTERPRETER, DAY, "en")


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.INTERPRETER])
def test_no_other_role_names_a_language(organiser: Organiser, summit: Summit, role: Role) -> None:
    north = summit.delegations[0].delegation_id
    with pytest.raises(ValueError, match="only an interpreter's invitation names a language"):
        organiser.invite(summit, north, role, DAY, "en")
    invitation, link = organiser.invite(summit, north, role, DAY)
    assert invitation.language is None
    assert SIGNER.verify(token_of(link)).language is None


def test_an_unknown_delegation_is_refused_before_the_language(organiser: Organiser, summit: Summit) -> None:
    with pytest.raises(ValueError, match="no such delegation"):
        organiser.invite(summit, "nobody", Role.INTERPRETER, DAY, "klingon")


def test_invite_all_makes_a_link_per_seat_in_order(organiser: Organiser, summit: Summit) -> None:
    seats = [
        Seat("North", Role.HOST),
        Seat("South", Role.INTERPRETER, "en"),
        Seat("North", Role.INTERPRETER, "ru"),
        Seat("South", Role.DELEGATE),
    ]
    links = organiser.invite_all(summit, seats, DAY)
    ids = {d.delegation_id: d.name for d in summit.delegations}
    claims = [SIGNER.verify(token_of(link)) for link in links]
    assert [Seat(ids[c.delegation_id], c.role, c.language) for c in claims] == seats


def test_a_seat_defaults_to_no_language_and_one_device() -> None:
    assert Seat("North", Role.DELEGATE) == ("North", Role.DELEGATE, None, 1)


@pytest.mark.parametrize(
    ("seat", "message"),
    [
        (Seat("West", Role.DELEGATE), "no delegation named 'West'"),
        (Seat("North", Role.INTERPRETER), "one of the summit's languages"),
        (Seat("North", Role.INTERPRETER, "de"), "one of the summit's languages"),
        (Seat("North", Role.PRESS, "en"), "only an interpreter's invitation names a language"),
        (Seat("North", Role.PRESS, devices=0), "admits 1 to 100 devices at once"),
        (Seat("North", Role.PRESS, devices=101), "admits 1 to 100 devices at once"),
    ],
)
def test_invite_all_refuses_a_bad_seat_with_the_reason(
    organiser: Organiser, summit: Summit, seat: Seat, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        organiser.invite_all(summit, [Seat("North", Role.HOST), seat], DAY)


def test_an_invitation_keeps_how_many_devices_it_admits_at_once(
    store: Store, organiser: Organiser, summit: Summit
) -> None:
    north = summit.delegations[0].delegation_id
    one, _ = organiser.invite(summit, north, Role.DELEGATE, DAY)
    press, _ = organiser.invite(summit, north, Role.PRESS, DAY, max_devices=20)
    assert [store.get_invitation(i.invitation_id) for i in (one, press)] == [one, press]
    assert (one.max_devices, press.max_devices) == (1, 20)

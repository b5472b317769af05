"""The store on SQLite files: summits with their delegations, invitations, migrations, constraints."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from stored_record import check_record_keeping

from parley.store import database
from parley.store.database import Store
from parley.summit.model import Role, Summit

START = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)
PARTIES = [("North", "en"), ("South", "fr"), ("East", "ar")]


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'parley.db'}"


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    opened = Store(url)
    yield opened
    opened.close()


def summit(store: Store, title: str = "Water rights") -> Summit:
    return store.create_summit(title, START, 90, PARTIES)


def test_a_created_summit_comes_back_with_its_delegations_in_order(store: Store) -> None:
    created = summit(store)
    assert created.title == "Water rights"
    assert created.scheduled_start == START
    assert created.duration_minutes == 90
    assert [(d.name, d.working_language) for d in created.delegations] == PARTIES
    assert all(d.summit_id == created.summit_id for d in created.delegations)
    assert len({d.delegation_id for d in created.delegations}) == len(PARTIES)
    assert store.get_summit(created.summit_id) == created


def test_a_summit_may_have_no_delegations(store: Store) -> None:
    created = store.create_summit("Preparatory", START, 30, [])
    assert created.delegations == ()
    assert store.get_summit(created.summit_id) == created


def test_a_summit_keeps_its_language_channels_and_ducking_and_defaults_to_none_and_a_fifth(
    store: Store,
) -> None:
    plain = summit(store)
    assert plain.languages == () and plain.ducking == 0.2
    created = store.create_summit(
        "Interpreted", START, 60, PARTIES, languages=("en", "zh-Hans"), ducking=0.35
    )
    assert created.languages == ("en", "zh-Hans") and created.ducking == 0.35
    assert store.get_summit(created.summit_id) == created


def test_an_interpreter_invitation_keeps_its_language(store: Store) -> None:
    created = store.create_summit("Interpreted", START, 60, PARTIES, languages=("ru",))
    delegation = created.delegations[0].delegation_id
    interpreter = store.create_invitation(created.summit_id, delegation, Role.INTERPRETER, START, "ru")
    loaded = store.get_invitation(interpreter.invitation_id)
    assert loaded is not None and loaded.language == "ru" and loaded == interpreter
    other = store.create_invitation(created.summit_id, delegation, Role.DELEGATE, START)
    assert store.get_invitation(other.invitation_id).language is None  # type: ignore[union-attr]


def test_an_unknown_summit_is_none(store: Store) -> None:
    assert store.get_summit("0" * 16) is None


def test_summits_are_listed_in_creation_order(store: Store) -> None:
    assert store.list_summits() == []
    created = [summit(store, title) for title in ("First", "Second", "Third")]
    assert store.list_summits() == created


def test_a_timezone_aware_start_comes_back_as_the_same_instant_in_utc(store: Store) -> None:
    geneva = timezone(timedelta(hours=2))
    start = datetime(2027, 3, 1, 11, 30, tzinfo=geneva)
    created = store.create_summit("Offset", start, 60, PARTIES)
    for loaded in (created, store.get_summit(created.summit_id)):
        assert loaded is not None
        assert loaded.scheduled_start == start
        assert loaded.scheduled_start.utcoffset() == timedelta(0)
        assert loaded.scheduled_start.hour == 9


def test_an_invitation_is_created_and_read_back(store: Store) -> None:
    created = summit(store)
    delegation = created.delegations[1]
    expires = START + timedelta(days=2)
    invitation = store.create_invitation(created.summit_id, delegation.delegation_id, Role.PRINCIPAL, expires)
    assert invitation.summit_id == created.summit_id
    assert invitation.delegation_id == delegation.delegation_id
    assert invitation.role is Role.PRINCIPAL
    assert invitation.expires_at == expires
    assert invitation.revoked is False
    assert store.get_invitation(invitation.invitation_id) == invitation


def test_every_role_is_stored(store: Store) -> None:
    created = summit(store)
    for role in Role:
        invitation = store.create_invitation(
            created.summit_id, created.delegations[0].delegation_id, role, START
        )
        loaded = store.get_invitation(invitation.invitation_id)
        assert loaded is not None and loaded.role is role


def test_an_invitation_expiry_with_an_offset_comes_back_as_the_same_instant_in_utc(store: Store) -> None:
    created = summit(store)
    expires = datetime(2027, 3, 1, 18, 0, tzinfo=timezone(timedelta(hours=-5)))
    invitation = store.create_invitation(
        created.summit_id, created.delegations[0].delegation_id, Role.HOST, expires
    )
    loaded = store.get_invitation(invitation.invitation_id)
    assert loaded is not None
    assert loaded.expires_at == expires
    assert loaded.expires_at.utcoffset() == timedelta(0) and loaded.expires_at.hour == 23


def test_an_unknown_invitation_is_none(store: Store) -> None:
    assert store.get_invitation("0" * 16) is None


def test_revoking_marks_the_invitation_revoked(store: Store) -> None:
    created = summit(store)
    invitation = store.create_invitation(
        created.summit_id, created.delegations[0].delegation_id, Role.DELEGATE, START
    )
    other = store.create_invitation(
        created.summit_id, created.delegations[0].delegation_id, Role.DELEGATE, START
    )
    assert store.revoke_invitation(invitation.invitation_id) is True
    loaded = store.get_invitation(invitation.invitation_id)
    assert loaded is not None and loaded.revoked is True
    untouched = store.get_invitation(other.invitation_id)
    assert untouched is not None and untouched.revoked is False
    # Revoking again still finds it.
    assert store.revoke_invitation(invitation.invitation_id) is True


def test_revoking_an_unknown_invitation_returns_false(store: Store) -> None:
    assert store.revoke_invitation("0" * 16) is False


def test_a_removal_mark_survives_reopening_the_file_until_it_is_lifted(url: str) -> None:
    """The host's removal must outlive a server restart: the mark is in the database."""
    first = Store(url)
    created = summit(first)
    kept, removed = (
        first.create_invitation(created.summit_id, created.delegations[0].delegation_id, Role.DELEGATE, START)
        for _ in range(2)
    )
    first.mark_removed(removed.invitation_id, True)
    first.close()
    second = Store(url)
    try:
        assert [(i.invitation_id, i.removed) for i in second.list_invitations(created.summit_id)] == [
            (kept.invitation_id, False),
            (removed.invitation_id, True),
        ]
        second.mark_removed(removed.invitation_id, False)
        lifted = second.get_invitation(removed.invitation_id)
        assert lifted is not None and lifted.removed is False and lifted.revoked is False
    finally:
        second.close()


def test_a_summits_invitations_are_listed_without_another_summits(store: Store) -> None:
    one, two = summit(store, "One"), summit(store, "Two")
    mine = store.create_invitation(one.summit_id, one.delegations[0].delegation_id, Role.HOST, START)
    store.create_invitation(two.summit_id, two.delegations[0].delegation_id, Role.HOST, START)
    assert store.list_invitations(one.summit_id) == [mine]
    assert store.list_invitations("0" * 16) == []


def test_reopening_the_file_keeps_everything_and_migrating_again_changes_nothing(url: str) -> None:
    first = Store(url)
    created = summit(first)
    invitation = first.create_invitation(
        created.summit_id, created.delegations[2].delegation_id, Role.HOST, START
    )
    first.revoke_invitation(invitation.invitation_id)
    first.close()

    second = Store(url)
    try:
        second.migrate()
        assert second.list_summits() == [created]
        loaded = second.get_invitation(invitation.invitation_id)
        assert loaded is not None and loaded.revoked is True and loaded.role is Role.HOST
        with second.engine.connect() as db:
            assert db.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all() == ["0007"]
    finally:
        second.close()


def test_channel_ids_are_unique_positive_and_exact_in_json_numbers(store: Store) -> None:
    channels = [summit(store, f"Summit {n}").channel_id for n in range(50)]
    assert len(set(channels)) == len(channels)
    assert all(0 < channel < 2**53 for channel in channels)


def test_an_invitation_for_a_missing_summit_violates_a_foreign_key(store: Store) -> None:
    created = summit(store)
    with pytest.raises(sa.exc.IntegrityError):
        store.create_invitation("0" * 16, created.delegations[0].delegation_id, Role.HOST, START)
    assert store.get_summit(created.summit_id) == created


def test_an_invitation_for_a_missing_delegation_violates_a_foreign_key(store: Store) -> None:
    created = summit(store)
    with pytest.raises(sa.exc.IntegrityError):
        store.create_invitation(created.summit_id, "0" * 16, Role.HOST, START)


def test_an_invitation_made_before_device_limits_admits_one_device_after_the_migration(url: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(database._MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    engine = sa.create_engine(url)
    with engine.begin() as db:
        config.attributes["connection"] = db
        command.upgrade(config, "0003")
        db.execute(
            sa.text(
                "INSERT INTO summits (summit_id, title, scheduled_start, duration_minutes, channel_id,"
                " created_at) VALUES ('s1', 'Old', :at, 60, 7, :at)"
            ),
            {"at": START},
        )
        db.execute(
            sa.text(
                "INSERT INTO delegations (delegation_id, summit_id, name, working_language, position)"
                " VALUES ('d1', 's1', 'North', 'en', 0)"
            )
        )
        db.execute(
            sa.text(
                "INSERT INTO invitations (invitation_id, summit_id, delegation_id, role, expires_at,"
                " revoked, created_at) VALUES ('i1', 's1', 'd1', 'press', :at, 0, :at)"
            ),
            {"at": START},
        )
    engine.dispose()
    store = Store(url)
    try:
        invitation = store.get_invitation("i1")
        assert invitation is not None and invitation.max_devices == 1
        made = store.create_invitation("s1", "d1", Role.PRESS, START, max_devices=30)
        assert store.get_invitation(made.invitation_id) == made and made.max_devices == 30
    finally:
        store.close()


def test_the_record_is_kept_in_order_and_a_second_entry_at_a_kept_seq_is_refused(url: str) -> None:
    store = Store(url)
    check_record_keeping(store)
    store.close()
    again = Store(url)  # the same file, opened again: the same log
    try:
        assert [e.seq for e in again.load_record(again.list_summits()[0].summit_id).entries] == list(range(5))
    finally:
        again.close()

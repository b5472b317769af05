"""The store: summits, delegations and invitations in SQL.

`Store(url)` migrates the database to the newest schema (Alembic; the migrations under
`migrations/versions` are the one definition of it) and reflects the tables. Calls are
synchronous and short; the server runs them off the event loop (`asyncio.to_thread`).
SQLite (the default, a file in the data directory) and PostgreSQL (`postgresql+psycopg://...`)
are supported.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from parley.protocol.codes import RecordState
from parley.store.kept_record import KeptEntry, KeptRecord
from parley.summit.course import Admission, AtEnd, Course, Phase
from parley.summit.model import DEFAULT_DUCKING, Delegation, Invitation, Role, Summit

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _id() -> str:
    return secrets.token_hex(8)


def _utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything Parley stores is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _to_utc(value: datetime) -> datetime:
    """What to store: SQLite keeps a datetime's wall-clock time and drops its offset, so convert first."""
    return value.astimezone(UTC) if value.tzinfo else value


class Store:
    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url)
        if url.startswith("sqlite"):
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self.migrate()
        meta = sa.MetaData()
        meta.reflect(self.engine)
        self._summits = meta.tables["summits"]
        self._delegations = meta.tables["delegations"]
        self._invitations = meta.tables["invitations"]
        self._log = meta.tables["summit_log"]
        self._documents = meta.tables["identity_documents"]
        self._entries = meta.tables["record_entries"]
        self._grants = meta.tables["record_grants"]

    def migrate(self) -> None:
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def close(self) -> None:
        self.engine.dispose()

    # -- summits -------------------------------------------------------------------------------

    def create_summit(
        self,
        title: str,
        scheduled_start: datetime,
        duration_minutes: int,
        delegations: Sequence[tuple[str, str]],
        admission: Admission = Admission.HOST,
        at_end: AtEnd = AtEnd.HARD_STOP,
        languages: Sequence[str] = (),
        ducking: float = DEFAULT_DUCKING,
        pins: Mapping[str, str] | None = None,
    ) -> Summit:
        """A summit with its delegations ((name, working language) each), its interpretation
        channels, a fresh channel id, and the organiser's `pins` ({delegation name: fingerprint
        digits}) if its devices must be certified."""
        pins = pins or {}
        summit_id = _id()
        channel_id = secrets.randbits(52) or 1  # a Janus room id too: keep it exact in JSON numbers
        with self.engine.begin() as db:
            db.execute(
                self._summits.insert().values(
                    summit_id=summit_id,
                    title=title,
                    scheduled_start=_to_utc(scheduled_start),
                    duration_minutes=duration_minutes,
                    channel_id=channel_id,
                    created_at=datetime.now(UTC),
                    admission=admission.value,
                    at_end=at_end.value,
                    languages=list(languages),
                    ducking=ducking,
                )
            )
            for position, (name, language) in enumerate(delegations):
                db.execute(
                    self._delegations.insert().values(
                        delegation_id=_id(),
                        summit_id=summit_id,
                        name=name,
                        working_language=language,
                        position=position,
                        pin=pins.get(name),
                    )
                )
        summit = self.get_summit(summit_id)
        assert summit is not None
        return summit

    def get_summit(self, summit_id: str) -> Summit | None:
        with self.engine.connect() as db:
            row = db.execute(self._summits.select().where(self._summits.c.summit_id == summit_id)).first()
            if row is None:
                return None
            d = self._delegations
            rows = db.execute(d.select().where(d.c.summit_id == summit_id).order_by(d.c.position)).all()
        return Summit(
            summit_id=row.summit_id,
            title=row.title,
            scheduled_start=_utc(row.scheduled_start),
            duration_minutes=row.duration_minutes,
            channel_id=row.channel_id,
            delegations=tuple(
                Delegation(r.delegation_id, r.summit_id, r.name, r.working_language, r.pin) for r in rows
            ),
            admission=Admission(row.admission),
            at_end=AtEnd(row.at_end),
            languages=tuple(row.languages),
            ducking=row.ducking,
        )

    # -- the course and the log ------------------------------------------------------------------

    def load_course(self, summit: Summit) -> Course:
        """The summit's course as last saved (phase, lock, overrun), with its clock."""
        s = self._summits
        with self.engine.connect() as db:
            row = db.execute(
                sa.select(s.c.phase, s.c.locked, s.c.overrun).where(s.c.summit_id == summit.summit_id)
            ).one()
        start = summit.scheduled_start
        course = Course.new(
            start, timedelta(minutes=summit.duration_minutes), summit.admission, summit.at_end
        )
        return replace(course, phase=Phase(row.phase), locked=row.locked, overrun=row.overrun)

    def save_course(self, summit_id: str, course: Course, kind: str, detail: dict[str, Any]) -> None:
        """Persist the course and append what happened to the summit's log, in one transaction."""
        s = self._summits
        with self.engine.begin() as db:
            db.execute(
                s.update()
                .where(s.c.summit_id == summit_id)
                .values(phase=course.phase.value, locked=course.locked, overrun=course.overrun)
            )
            db.execute(
                self._log.insert().values(summit_id=summit_id, at=datetime.now(UTC), kind=kind, detail=detail)
            )

    def read_log(self, summit_id: str) -> list[tuple[datetime, str, dict[str, Any]]]:
        log = self._log
        with self.engine.connect() as db:
            rows = db.execute(log.select().where(log.c.summit_id == summit_id).order_by(log.c.entry)).all()
        return [(_utc(r.at), r.kind, r.detail) for r in rows]

    def list_summits(self) -> list[Summit]:
        with self.engine.connect() as db:
            ids = db.execute(
                sa.select(self._summits.c.summit_id).order_by(self._summits.c.created_at)
            ).scalars()
            summit_ids = list(ids)
        return [s for s in map(self.get_summit, summit_ids) if s is not None]

    # -- invitations ---------------------------------------------------------------------------

    def create_invitation(
        self,
        summit_id: str,
        delegation_id: str,
        role: Role,
        expires_at: datetime,
        language: str | None = None,
        max_devices: int = 1,
    ) -> Invitation:
        invitation = Invitation(
            _id(), summit_id, delegation_id, role, _to_utc(expires_at), False, language, max_devices
        )
        with self.engine.begin() as db:
            db.execute(
                self._invitations.insert().values(
                    invitation_id=invitation.invitation_id,
                    summit_id=summit_id,
                    delegation_id=delegation_id,
                    role=role.value,
                    expires_at=invitation.expires_at,
                    revoked=False,
                    created_at=datetime.now(UTC),
                    language=language,
                    max_devices=max_devices,
                )
            )
        return invitation

    def get_invitation(self, invitation_id: str) -> Invitation | None:
        i = self._invitations
        with self.engine.connect() as db:
            row = db.execute(i.select().where(i.c.invitation_id == invitation_id)).first()
        return None if row is None else _invitation(row)

    def list_invitations(self, summit_id: str) -> list[Invitation]:
        """A summit's invitations, oldest first: what an organiser picks one to revoke from."""
        i = self._invitations
        with self.engine.connect() as db:
            rows = db.execute(i.select().where(i.c.summit_id == summit_id).order_by(i.c.created_at)).all()
        return [_invitation(row) for row in rows]

    def revoke_invitation(self, invitation_id: str) -> bool:
        """For good: it admits no one any more (a removal mark it had no longer matters)."""
        i = self._invitations
        with self.engine.begin() as db:
            result = db.execute(
                i.update().where(i.c.invitation_id == invitation_id).values(revoked=True, removed=False)
            )
        return bool(result.rowcount)

    def mark_removed(self, invitation_id: str, removed: bool) -> None:
        """The host removed a device of this link (True), or admitted one again (False)."""
        i = self._invitations
        with self.engine.begin() as db:
            db.execute(i.update().where(i.c.invitation_id == invitation_id).values(removed=removed))

    # -- identity documents -------------------------------------------------------------------------

    def keep_document(self, summit_id: str, kind: str, owner: str, text: str) -> None:
        """Keep a certificate, revocation list or pin set, replacing the one of its kind and owner."""
        d = self._documents
        key = (d.c.summit_id == summit_id) & (d.c.kind == kind) & (d.c.owner == owner)
        with self.engine.begin() as db:
            db.execute(d.delete().where(key))
            db.execute(
                d.insert().values(
                    summit_id=summit_id, kind=kind, owner=owner, text=text, kept_at=datetime.now(UTC)
                )
            )

    def documents(self, summit_id: str) -> list[tuple[str, str, str]]:
        """The summit's kept documents, as (kind, owner, text), oldest first."""
        d = self._documents
        with self.engine.connect() as db:
            rows = db.execute(d.select().where(d.c.summit_id == summit_id).order_by(d.c.kept_at)).all()
        return [(r.kind, r.owner, r.text) for r in rows]

    # -- the record (docs/record.md) --------------------------------------------------------------

    def keep_record(
        self,
        summit_id: str,
        entry: KeptEntry | None = None,
        grant: tuple[str, str] | None = None,
        state: RecordState | None = None,
    ) -> None:
        """An entry, a grant ((recipient, text)) and the record's new state, in one transaction:
        committed (on disk: SQLite's WAL with synchronous=FULL, or PostgreSQL's commit) before
        the room acknowledges the entry or shows it to anyone. A second entry at a kept position
        is refused by the primary key (IntegrityError), never written over."""
        now = datetime.now(UTC)
        with self.engine.begin() as db:
            if entry is not None:
                db.execute(
                    self._entries.insert().values(
                        summit_id=summit_id,
                        seq=entry.seq,
                        entry=entry.entry,
                        ciphertext=entry.ciphertext,
                        certificate=entry.certificate,
                        kept_at=now,
                    )
                )
            if grant is not None:
                recipient, text = grant
                db.execute(
                    self._grants.insert().values(
                        summit_id=summit_id, recipient=recipient, grant_text=text, kept_at=now
                    )
                )
            if state is not None:
                s = self._summits
                db.execute(s.update().where(s.c.summit_id == summit_id).values(record_state=state.value))

    def load_record(self, summit_id: str, signer_lists: Sequence[str] = ()) -> KeptRecord:
        """The summit's record as kept: its entries in order, its grants, its state."""
        e, g, s = self._entries, self._grants, self._summits
        with self.engine.connect() as db:
            entries = db.execute(e.select().where(e.c.summit_id == summit_id).order_by(e.c.seq)).all()
            grants = db.execute(g.select().where(g.c.summit_id == summit_id).order_by(g.c.kept_at)).all()
            state = db.execute(sa.select(s.c.record_state).where(s.c.summit_id == summit_id)).scalar_one()
        return KeptRecord(
            entries=tuple(KeptEntry(r.seq, r.entry, r.ciphertext, r.certificate) for r in entries),
            grants=tuple(r.grant_text for r in grants),
            signer_lists=tuple(signer_lists),
            state=RecordState(state),
        )


def _invitation(row: sa.Row[Any]) -> Invitation:
    return Invitation(
        row.invitation_id,
        row.summit_id,
        row.delegation_id,
        Role(row.role),
        _utc(row.expires_at),
        row.revoked,
        row.language,
        row.max_devices,
        row.removed,
    )


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    """Foreign keys on; the write-ahead log, synced at every commit (synchronous=FULL), so a
    transaction committed survives a crash of the server or the machine."""
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()

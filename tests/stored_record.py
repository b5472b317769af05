"""One check of the store's record, run on SQLite (tests/unit/store) and on PostgreSQL
(tests/integration/test_store_postgres.py): entries kept at their positions and read back in order,
a second entry at a kept position refused by the database, grants and the state kept with them.

The store never reads what it keeps, so the texts here are opaque stand-ins, not real entries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from parley.protocol.codes import RecordState
from parley.store.database import Store
from parley.store.kept_record import KeptEntry


def entry(seq: int, mark: str = "") -> KeptEntry:
    return KeptEntry(seq, f"parley-record-entry:{seq}{mark}", f"ciphertext-{seq}" if seq % 2 else "", "cert")


def check_record_keeping(store: Store) -> None:
    summit = store.create_summit("Record", datetime(2027, 3, 1, 9, tzinfo=UTC), 60, [("North", "en")])
    sid = summit.summit_id
    store.keep_record(sid, grant=("recipient-a", "parley-record-grant:a"))
    # Kept out of order of arrival on purpose: the order read back is the log's, by seq.
    for seq in (0, 1, 3, 2):
        store.keep_record(sid, entry=entry(seq))
    with pytest.raises(sa.exc.IntegrityError):
        store.keep_record(sid, entry=entry(2, " forked"))
    # The refused transaction wrote nothing, not even the state it carried.
    with pytest.raises(sa.exc.IntegrityError):
        store.keep_record(sid, entry=entry(1, " forked"), state=RecordState.SEALED)
    store.keep_record(sid, entry=entry(4), state=RecordState.CLOSED)

    kept = store.load_record(sid, ["parley-signers:north"])
    assert kept.entries == tuple(entry(seq) for seq in range(5))
    assert kept.grants == ("parley-record-grant:a",)
    assert kept.signer_lists == ("parley-signers:north",)
    assert kept.state is RecordState.CLOSED

"""A client's verified copy of the record, and the alarms that name what the server did.

Sans-IO: the client feeds each entry the server relays (`receive_entry`), each member's signed
head (`receive_head`), the record key once a grant gave it (`set_key`), and calls `tick(now)` at
`deadline()`. Each returns the new alarms (docs/record.md, "What every client detects"):

- `altered`: an entry whose signature, certificate, kind rules or text do not verify;
- `reordered`: an entry that arrives after a later one;
- `dropped`: a gap not filled within `DROP_BOUND`, or a member's longer head not caught up
  with within it;
- `forked`: an entry whose `prev` is not this copy's hash before it, a second entry at a seq
  held, or a member's head naming another hash at a length held.

Seals are checked as if the record were closed: the server enforces the close, and a seal is
signed by a signer, whom the server cannot make seal early.
"""

from __future__ import annotations

from dataclasses import dataclass

from parley.protocol.codes import RecordProblem
from parley.record.entry import RecordEntry
from parley.record.head import RecordHead
from parley.record.keys import MAX_CIPHERTEXT, RecordKey, decrypt_statement
from parley.record.rules import RecordError, RecordRules
from parley.record.statement import Statement

DROP_BOUND = 2.0  # s: an entry later than one received, or than a member's head, arrives by then
MAX_AHEAD = 1024  # entries kept waiting for a gap to fill (a server could send any number)
ALARM_KINDS = frozenset({"dropped", "reordered", "altered", "forked"})


@dataclass(frozen=True)
class RecordAlarm:
    kind: str  # "dropped", "reordered", "altered" or "forked"
    seq: int  # the entry it is about
    message: str

    def __str__(self) -> str:
        return self.message


class RecordView:
    def __init__(self, rules: RecordRules, key: RecordKey | None = None, bound: float = DROP_BOUND) -> None:
        self.rules = rules
        self.key = key
        self.bound = bound
        self._ciphertexts: dict[int, bytes] = {}
        self._statements: dict[int, Statement] = {}
        self._ahead: dict[int, tuple[RecordEntry, bytes]] = {}  # seq -> entry waiting for a gap
        self._gap_since: float | None = None  # when an entry beyond the log first arrived
        self._expected: dict[int, tuple[bytes, float]] = {}  # length -> (head, since): members' heads
        self._raised: set[tuple[str, int]] = set()
        self.alarms: list[RecordAlarm] = []

    # -- inputs --------------------------------------------------------------------------------

    def receive_entry(self, entry: RecordEntry, ciphertext: bytes, now: float) -> list[RecordAlarm]:
        new: list[RecordAlarm] = []
        log = self.rules.log
        if entry.seq < len(log):
            if entry.hash() != log[entry.seq].hash():
                self._raise(
                    new, "forked", entry.seq, f"the server sent a second, different {entry.describe()}"
                )
        elif entry.seq > len(log):
            if len(self._ahead) < MAX_AHEAD:
                self._ahead.setdefault(entry.seq, (entry, ciphertext))
            if self._gap_since is None:
                self._gap_since = now
        else:
            if self._gap_since is not None:
                self._raise(
                    new, "reordered", entry.seq, f"the server sent {entry.describe()} after a later one"
                )
            self._accept(entry, ciphertext, new)
            self._drain(new)
        return self._settle(new, now)

    def receive_head(self, head: RecordHead, member_key: bytes, now: float) -> list[RecordAlarm]:
        """A member's head; `member_key` is its certified device key. A head that does not verify
        is dropped (ValueError): the server can withhold heads, not forge them."""
        if head.summit_id != self.rules.summit_id or not head.verify(member_key):
            raise ValueError(f"a record head for user {head.user_id} that its device did not sign")
        new: list[RecordAlarm] = []
        if head.length <= len(self.rules.log):
            self._compare(head.length, head.head, f"user {head.user_id}", new)
        else:
            self._expected.setdefault(head.length, (head.head, now))
        return self._settle(new, now)

    def set_key(self, key: RecordKey) -> list[RecordAlarm]:
        """The record key, from a grant: the texts received before it are decrypted now."""
        self.key = key
        new: list[RecordAlarm] = []
        for entry in self.rules.log:
            if entry.kind.has_text and entry.seq not in self._statements:
                self._decrypt(entry, new)
        self.alarms += new
        return new

    def tick(self, now: float) -> list[RecordAlarm]:
        return self._settle([], now)

    def deadline(self) -> float | None:
        """When a gap or a longer head turns into a `dropped` alarm, if nothing comes first."""
        starts = [since for _, since in self._expected.values()]
        if self._gap_since is not None:
            starts.append(self._gap_since)
        return min(starts) + self.bound if starts else None

    # -- what it holds -------------------------------------------------------------------------

    def statements(self) -> dict[int, Statement]:
        """The decrypted statements, by seq (for display and export)."""
        return dict(self._statements)

    def ciphertext(self, seq: int) -> bytes:
        return self._ciphertexts[seq]

    # -- how ------------------------------------------------------------------------------------

    def _accept(self, entry: RecordEntry, ciphertext: bytes, new: list[RecordAlarm]) -> None:
        try:
            self.rules.check(entry, self.key.key_id if self.key else None, closed=True)
        except RecordError as e:
            kind = "forked" if e.problem is RecordProblem.FORKED else "altered"
            self._raise(new, kind, entry.seq, f"the server sent {entry.describe()}, refused: {e}")
            return
        if entry.kind.has_text != bool(ciphertext) or len(ciphertext) > MAX_CIPHERTEXT:
            self._raise(
                new, "altered", entry.seq, f"the server sent {entry.describe()} with a text it cannot carry"
            )
            return
        self.rules.append(entry)
        self._ciphertexts[entry.seq] = ciphertext
        if entry.kind.has_text and self.key is not None:
            self._decrypt(entry, new)

    def _decrypt(self, entry: RecordEntry, new: list[RecordAlarm]) -> None:
        assert self.key is not None
        try:
            self._statements[entry.seq] = decrypt_statement(
                self.key, self._ciphertexts[entry.seq], entry.commitment
            )
        except ValueError as e:
            self._raise(new, "altered", entry.seq, f"the server altered the text of {entry.describe()}: {e}")

    def _drain(self, new: list[RecordAlarm]) -> None:
        """Entries that were waiting for the gap, now next in line."""
        while len(self.rules.log) in self._ahead:
            entry, ciphertext = self._ahead.pop(len(self.rules.log))
            before = len(self.rules.log)
            self._accept(entry, ciphertext, new)
            if len(self.rules.log) == before:
                break
        self._ahead = {s: e for s, e in self._ahead.items() if s > len(self.rules.log)}
        if not self._ahead:
            self._gap_since = None

    def _compare(self, length: int, head: bytes, whose: str, new: list[RecordAlarm]) -> None:
        held = self.rules.log[length - 1].hash() if length else head
        if held != head:
            self._raise(
                new,
                "forked",
                length - 1,
                f"{whose} holds another entry {length - 1} than this device: the log is forked",
            )

    def _settle(self, new: list[RecordAlarm], now: float) -> list[RecordAlarm]:
        length = len(self.rules.log)
        for expected, (head, since) in sorted(self._expected.items()):
            if expected <= length:
                self._compare(expected, head, "a member", new)
                del self._expected[expected]
            elif now - since >= self.bound:
                self._raise(
                    new,
                    "dropped",
                    length,
                    f"a member holds {expected} entries; the server never sent this device entry {length}",
                )
                del self._expected[expected]
        if self._gap_since is not None and now - self._gap_since >= self.bound:
            self._raise(new, "dropped", length, f"the server sent a later entry but never entry {length}")
            self._gap_since = None
        self.alarms += new
        return new

    def _raise(self, new: list[RecordAlarm], kind: str, seq: int, message: str) -> None:
        if (kind, seq) not in self._raised:
            self._raised.add((kind, seq))
            new.append(RecordAlarm(kind, seq, message))

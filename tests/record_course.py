"""A real course of the record for tests: two delegations with real Ed25519 keys certifying real
DAVE device keys, a record key, and a log written entry by entry through the rules. Only the
clock is fixed."""

from __future__ import annotations

from dataclasses import dataclass, field

from identities import NOW, SUMMIT, Delegation, Device

from parley.identity.certificate import DeviceCertificate
from parley.identity.fingerprint import Fingerprint
from parley.protocol.vocabulary import Role
from parley.record.entry import ZERO32, EntryKind, RecordEntry, write_entry
from parley.record.keys import RecordKey, encrypt_statement
from parley.record.rules import RecordRules
from parley.record.signers import SignerList, sign_signers
from parley.record.statement import Statement

PORT = "The port reopens to all shipping."
CEASEFIRE = "Both parties agree to a ceasefire from Monday."
PRISONERS = "Prisoners are exchanged within a week."
REASON = "Not before inspections resume."


@dataclass
class Signer:
    device: Device
    certificate: DeviceCertificate


@dataclass
class Course:
    a: Delegation = field(default_factory=lambda: Delegation("Delegation A", "a1a1a1a1a1a1a1a1"))
    b: Delegation = field(default_factory=lambda: Delegation("Delegation B", "b2b2b2b2b2b2b2b2"))
    key: RecordKey = field(default_factory=RecordKey.new)
    signers: dict[str, Signer] = field(default_factory=dict)
    signer_list: SignerList | None = None
    rules: RecordRules | None = None
    statements: dict[int, Statement] = field(default_factory=dict)
    ciphertexts: dict[int, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, delegation, user_id, role in (
            ("a", self.a, 101, Role.PRINCIPAL),
            ("b", self.b, 201, Role.PRINCIPAL),
            ("b delegate", self.b, 202, Role.DELEGATE),
            ("a delegate", self.a, 102, Role.DELEGATE),
        ):
            device = delegation.device(user_id, role)
            self.signers[name] = Signer(device, delegation.certify(device))
        self.signer_list = sign_signers(
            self.b.key, SUMMIT, self.b.name, 1, [self.signers["b delegate"].certificate.serial]
        )
        self.rules = self.fresh_rules()

    @property
    def pins(self) -> dict[str, Fingerprint]:
        return {self.a.name: self.a.key.fingerprint, self.b.name: self.b.key.fingerprint}

    def fresh_rules(self) -> RecordRules:
        rules = RecordRules(SUMMIT, set(self.pins), pins=self.pins)
        for signer in self.signers.values():
            rules.add_certificate(signer.certificate)
        assert self.signer_list is not None
        rules.add_signer_list(self.signer_list)
        return rules

    def entry(
        self,
        who: str,
        kind: EntryKind,
        statement: Statement | None = None,
        refers: bytes = ZERO32,
        *,
        seq: int | None = None,
        prev: bytes | None = None,
    ) -> RecordEntry:
        """An entry `who` signs, next in this course's log unless told otherwise (not appended)."""
        assert self.rules is not None
        signer = self.signers[who]
        return write_entry(
            signer.device.sign,
            summit_id=SUMMIT,
            seq=len(self.rules.log) if seq is None else seq,
            prev=self.rules.head if prev is None else prev,
            kind=kind,
            refers=refers,
            commitment=statement.commitment() if statement else ZERO32,
            key_id=self.key.key_id,
            epoch=3,
            time=(NOW + len(self.rules.log)) * 1000,
            signer=signer.certificate.serial,
        )

    def write(
        self, who: str, kind: EntryKind, text: str = "", refers: bytes = ZERO32, **action: str
    ) -> RecordEntry:
        """Write an entry through the rules, as the server would accept it."""
        assert self.rules is not None
        statement = Statement.new(text, **action) if kind.has_text else None
        entry = self.entry(who, kind, statement, refers)
        self.rules.check(entry, self.key.key_id, closed=True)
        self.rules.append(entry)
        if statement is not None:
            self.statements[entry.seq] = statement
            self.ciphertexts[entry.seq] = encrypt_statement(self.key, statement)
        else:
            self.ciphertexts[entry.seq] = b""
        return entry

    def talks(self) -> Course:
        """Positions, two agreed outcomes, one declined, an action item; not sealed."""
        self.write("a", EntryKind.POSITION, "Delegation A holds that the border stays open.")
        self.write("b delegate", EntryKind.POSITION, "Delegation B asks for inspections first.")
        ceasefire = self.write("a", EntryKind.OUTCOME, CEASEFIRE)
        self.write("b", EntryKind.SIGN, refers=ceasefire.hash())
        prisoners = self.write("b delegate", EntryKind.OUTCOME, PRISONERS)
        self.write("a", EntryKind.SIGN, refers=prisoners.hash())
        port = self.write("a", EntryKind.OUTCOME, PORT)
        self.write("b", EntryKind.DECLINE, REASON, refers=port.hash())
        self.write("a", EntryKind.ACTION, "Draft the joint communiqué", owner="José Núñez", due="Friday")
        return self

    def seal(self) -> Course:
        assert self.rules is not None
        head = self.rules.head
        self.write("a", EntryKind.SEAL, refers=head)
        self.write("b", EntryKind.SEAL, refers=head)
        return self

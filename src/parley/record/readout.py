"""The readout: the record exported as a JSON file anyone can check offline, and its printable page.

The JSON is canonical (`json.dumps(..., indent=2, sort_keys=True, ensure_ascii=False)` and a final
newline) and every document in it is in its canonical text form, so any changed byte either
breaks a signature or a commitment, or makes the file differ from its canonical form: either way
`verify_readout` refuses it. The readable fields (`kind`, `by`, `text`, `owner`, `due`) are
recomputed from the signed bytes and must be equal. Certificates are listed in the order the
entries first name them, each once; signer lists one per delegation, by delegation name.

`verify_readout` replays the whole log through `RecordRules` (with the pins as the summit's
delegations), and requires the record sealed by every pinned delegation: an unsealed log could
be cut short by whoever exported it.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from parley.identity.certificate import DeviceCertificate
from parley.identity.encoding import SignedDocument
from parley.identity.fingerprint import Fingerprint
from parley.protocol.fields import b64url, unb64url
from parley.record.entry import ZERO32, EntryKind, RecordEntry
from parley.record.rules import RecordRules, Standing
from parley.record.signers import SignerList
from parley.record.statement import Statement

FORMAT = "parley-readout-v1"
MAX_READOUT = 64 * 1024 * 1024
_TOP = {"format", "summit_id", "exported_by", "certificates", "signer_lists", "entries"}
D = TypeVar("D", bound=SignedDocument)
_ENTRY = {"entry", "statement", "kind", "by", "text", "owner", "due"}


def canonical_json(document: object) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def export_readout(rules: RecordRules, statements: Mapping[int, Statement], exported_by: str) -> bytes:
    """The readout of a log (`rules.log`) and its decrypted statements (by seq)."""
    certificates: list[str] = []
    for entry in rules.log:
        text = rules.certificates[entry.signer].to_text()
        if text not in certificates:
            certificates.append(text)
    entries = []
    for entry in rules.log:
        statement = statements.get(entry.seq) if entry.kind.has_text else None
        if entry.kind.has_text and statement is None:
            raise ValueError(f"{entry.describe()}: its text is not decrypted; export needs the record key")
        entries.append(_entry_fields(entry, rules.delegation_of(entry), statement))
    return canonical_json(
        {
            "format": FORMAT,
            "summit_id": rules.summit_id,
            "exported_by": exported_by,
            "certificates": certificates,
            "signer_lists": [
                s.to_text() for s in sorted(rules.signer_lists.values(), key=lambda s: s.delegation)
            ],
            "entries": entries,
        }
    )


def _entry_fields(entry: RecordEntry, by: str, statement: Statement | None) -> dict[str, str]:
    return {
        "entry": entry.to_text(),
        "statement": b64url(statement.encode()) if statement else "",
        "kind": entry.kind.label,
        "by": by,
        "text": statement.text if statement else "",
        "owner": statement.owner if statement else "",
        "due": statement.due if statement else "",
    }


@dataclass(frozen=True)
class StatementStanding:
    seq: int
    kind: str
    by: str
    text: str
    owner: str
    due: str
    standing: str  # "agreed by A and B", "position of A", ...
    agreed: bool


@dataclass
class ReadoutVerdict:
    ok: bool
    reason: str  # why it does not verify ("" when it does)
    summit_id: str = ""
    exported_by: str = ""
    statements: list[StatementStanding] = field(default_factory=list)
    sealed_by: list[str] = field(default_factory=list)
    sealed_head: str = ""  # hex
    fingerprints: dict[str, str] = field(default_factory=dict)  # delegation -> grouped digits

    def claim(self, text: str) -> StatementStanding | None:
        """The standing of this exact text (an agreed one first, if it was written twice)."""
        found = [s for s in self.statements if s.text == text]
        return next((s for s in found if s.agreed), found[0] if found else None)


class _Refused(ValueError):
    pass


def verify_readout(data: bytes, pins: Mapping[str, Fingerprint]) -> ReadoutVerdict:
    """Whether the readout is a complete, sealed record of the delegations pinned, unaltered."""
    try:
        return _replay(data, pins)
    except (_Refused, ValueError) as e:
        return ReadoutVerdict(False, str(e))


def _replay(data: bytes, pins: Mapping[str, Fingerprint]) -> ReadoutVerdict:
    document = _parse(data)
    summit_id = _string(document, "summit_id")
    rules = RecordRules(summit_id, set(pins), pins=pins)
    certificates = [_document(DeviceCertificate, text) for text in _list(document, "certificates")]
    for certificate in certificates:
        if certificate.claim.delegation not in pins:
            raise _Refused(f"no pin for {certificate.claim.delegation}, whose certificate is in the readout")
        rules.add_certificate(certificate)
    lists = [_document(SignerList, text) for text in _list(document, "signer_lists")]
    if [s.delegation for s in lists] != sorted({s.delegation for s in lists}):
        raise _Refused("the signer lists are not one per delegation, by name")
    for signers in lists:
        rules.add_signer_list(signers)
    items = [_read_item(item) for item in _list(document, "entries")]
    statements = _precheck(summit_id, items, certificates)
    if [c.serial for c in certificates] != list(dict.fromkeys(e.signer for e, _ in items)):
        raise _Refused("the certificates are not those the entries name, in the order they first name them")
    for entry, _ in items:  # the signatures, certificates and kind rules
        rules.check(entry, closed=True)
        rules.append(entry)
    exported_by = _string(document, "exported_by")
    if exported_by not in pins:
        raise _Refused(f"exported by {exported_by!r}, not a pinned delegation")
    if not rules.sealed:
        missing = ", ".join(sorted(set(pins) - rules.sealed_by))
        raise _Refused(f"the record is not sealed by {missing}: it may be incomplete")
    return ReadoutVerdict(
        True,
        "",
        summit_id,
        exported_by,
        _standings(rules, statements),
        sorted(rules.sealed_by),
        (rules.sealed_head or b"").hex(),
        {name: str(fingerprint) for name, fingerprint in sorted(pins.items())},
    )


def _parse(data: bytes) -> dict[str, Any]:
    if len(data) > MAX_READOUT:
        raise _Refused("the readout is too large")
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _Refused("the readout is not JSON") from None
    if not isinstance(document, dict) or set(document) != _TOP or document["format"] != FORMAT:
        raise _Refused(f"not a {FORMAT} readout")
    if canonical_json(document) != data:
        raise _Refused("the readout is not in its canonical form: it was edited")
    return document


def _string(document: Mapping[str, Any], key: str) -> str:
    value = document[key]
    if not isinstance(value, str):
        raise _Refused(f"the readout's {key} is not a string")
    return value


def _list(document: Mapping[str, Any], key: str) -> list[Any]:
    value = document[key]
    if not isinstance(value, list):
        raise _Refused(f"the readout's {key} is not a list")
    return value


def _document(kind: type[D], text: object) -> D:
    if not isinstance(text, str):
        raise _Refused(f"a {kind.KIND} that is not text")
    parsed = kind.from_text(text)
    if parsed.to_text() != text:
        raise _Refused(f"a {kind.KIND} not in its canonical text form")
    return parsed


def _read_item(item: object) -> tuple[RecordEntry, dict[str, str]]:
    if (
        not isinstance(item, dict)
        or set(item) != _ENTRY
        or not all(isinstance(v, str) for v in item.values())
    ):
        raise _Refused("an entry of the readout is not as the format says")
    return _document(RecordEntry, item["entry"]), item


def _precheck(
    summit_id: str, items: list[tuple[RecordEntry, dict[str, str]]], certificates: list[DeviceCertificate]
) -> dict[int, Statement]:
    """What needs no signature: the chain of hashes, the statements against their commitments,
    and what each entry shows. Most changed bytes fail here, fast; the replay checks the rest."""
    by = {c.serial: c.claim.delegation for c in certificates}
    statements: dict[int, Statement] = {}
    prev = ZERO32
    for seq, (entry, item) in enumerate(items):
        if entry.summit_id != summit_id or entry.seq != seq or entry.prev != prev:
            raise _Refused(
                f"{entry.describe()} is not the entry that follows entry {seq - 1} of summit {summit_id}"
            )
        prev = entry.hash()
        statement = None
        if entry.kind.has_text:
            raw = unb64url(item["statement"]) if item["statement"] else b""
            if b64url(raw) != item["statement"]:
                raise _Refused(f"{entry.describe()}: its statement is not base64url")
            statement = statements[seq] = Statement.decode(raw)
            if statement.commitment() != entry.commitment:
                raise _Refused(f"{entry.describe()}: its statement is not the one its signer committed to")
        if entry.signer not in by or _entry_fields(entry, by[entry.signer], statement) != item:
            raise _Refused(f"{entry.describe()}: what it shows is not what was signed")
    return statements


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _standings(rules: RecordRules, statements: Mapping[int, Statement]) -> list[StatementStanding]:
    standings = rules.standing()
    result = []
    for seq, standing in sorted(standings.items()):
        statement = statements[seq]
        text, agreed = _standing_text(standing, statement, standings, statements, rules.delegations)
        result.append(
            StatementStanding(
                seq,
                standing.kind.label,
                standing.by,
                statement.text,
                statement.owner,
                statement.due,
                text,
                agreed,
            )
        )
    return result


def _standing_text(
    standing: Standing,
    statement: Statement,
    standings: Mapping[int, Standing],
    statements: Mapping[int, Statement],
    delegations: frozenset[str],
) -> tuple[str, bool]:
    by = standing.by
    if standing.kind is EntryKind.POSITION:
        return f"position of {by}", False
    if standing.kind is EntryKind.ACTION:
        return (
            f"action for {statement.owner or 'no one named'} by {statement.due or 'no date'}, by {by}",
            False,
        )
    if standing.kind is EntryKind.DECLINE:
        return f"{by}'s reason for declining entry {standing.answers}", False
    amends = f", amending entry {standing.amends}" if standing.amends is not None else ""
    if standing.agreed:
        return f"agreed by {_names(sorted(standing.agreed_by))}{amends}", True
    if standing.declined_by:
        reasons = "; ".join(f"declined by {d}: {statements[s].text}" for d, s in standing.declined_by)
        return f"position of {by}, not agreed ({reasons}){amends}", False
    missing = _names(sorted(delegations - set(standing.agreed_by)))
    return f"proposed by {by}, not agreed (not signed by {missing}){amends}", False


def render_html(readout: bytes) -> str:
    """A printable page of a readout, self-contained and without scripts. It trusts the keys the
    file names (it has no pins): the page says so, and that `parley verify` is the check."""
    document = json.loads(readout.decode("utf-8"))
    keys = {}
    for text in document.get("certificates", []):
        certificate = DeviceCertificate.from_text(text)
        keys[certificate.claim.delegation] = certificate.issuer_fingerprint
    verdict = verify_readout(readout, keys)
    e = html.escape
    rows = "".join(
        f"<tr><td>{s.seq}</td><td>{e(s.kind)}</td><td>{e(s.by)}</td><td class=t>{e(s.text)}</td>"
        f"<td>{e(s.standing)}</td></tr>"
        for s in verdict.statements
    )
    fingerprints = "".join(
        f"<li>{e(name)}: <code>{e(str(fp))}</code></li>" for name, fp in sorted(keys.items())
    )
    state = (
        f"Sealed by {e(_names(verdict.sealed_by))}, head <code>{e(verdict.sealed_head)}</code>."
        if verdict.ok
        else f"This readout does not hold together: {e(verdict.reason)}"
    )
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>Record of summit {e(str(document.get('summit_id', '')))}</title>"
        "<style>body{font-family:serif;margin:2em}table{border-collapse:collapse;width:100%}"
        "td,th{border:1px solid #888;padding:.3em;vertical-align:top}.t{white-space:pre-wrap}</style>"
        "</head><body>"
        f"<h1>Record of summit {e(str(document.get('summit_id', '')))}</h1>"
        f"<p>Exported by {e(str(document.get('exported_by', '')))}. {state}</p>"
        "<table><tr><th>#</th><th>Kind</th><th>By</th><th>Text</th><th>Standing</th></tr>"
        f"{rows}</table>"
        "<h2>Delegation keys named in this readout</h2>"
        f"<ul>{fingerprints}</ul>"
        "<p>This page is not proof. Check the readout file with <code>parley verify READOUT --pin"
        " &quot;Delegation=fingerprint&quot; ...</code> and the fingerprints your officers read to each"
        " other.</p></body></html>\n"
    )

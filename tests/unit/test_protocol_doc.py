"""docs/protocol.md names exactly the ops and codes of the wire schema (parley.protocol): every
op of each direction in its table, every error and close code in its paragraph, and nothing the
schema does not have. The document is written by hand; this keeps it from drifting."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from pydantic import BaseModel

from parley.e2ee.gateway import Refusal
from parley.protocol.codes import CloseCode, ErrorCode
from parley.protocol.dave_ops import DaveDeviceOp, DaveServerOp
from parley.protocol.device_ops import DeviceOp
from parley.protocol.server_ops import ParleyServerOp

DOC = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()


def section(heading: str, after: str = "") -> str:
    """The text under `heading` (a markdown heading line), up to the next heading of its level
    or above; the first such heading after `after`."""
    start = DOC.index(heading + "\n", DOC.index(after) if after else 0)
    level = heading.split(" ")[0]
    rest = DOC[start + len(heading) :]
    end = re.search(rf"^#{{1,{len(level)}}} ", rest, re.MULTILINE)
    return rest[: end.start()] if end else rest


def first_column(text: str) -> list[str]:
    return [
        line.split("|")[1].strip()
        for line in text.splitlines()
        if line.startswith("| ") and "---" not in line
    ]


def op_names(union: object) -> set[str | int]:
    models: tuple[type[BaseModel], ...] = typing.get_args(typing.get_args(union)[0])
    return {typing.get_args(m.model_fields["op"].annotation)[0] for m in models}


def named_ops(text: str) -> set[str]:
    return {name for cell in first_column(text) for name in re.findall(r"`(\w+)`", cell)}


def numbered_json_ops(text: str) -> set[int]:
    rows = [line.split("|") for line in text.splitlines() if re.match(r"\| \d+ ", line)]
    return {int(row[1].split()[0]) for row in rows if row[2].strip() == "JSON"}


def test_the_signalling_tables_name_every_op_of_the_schema_and_no_other() -> None:
    signalling = section("## Signalling")
    assert named_ops(section("### Device → server", "## Signalling")) == op_names(DeviceOp)
    assert named_ops(section("### Server → device", "## Signalling")) == op_names(ParleyServerOp)
    assert "### Device → server" in signalling


def test_the_dave_tables_name_every_numbered_json_op_of_the_schema_and_no_other() -> None:
    assert numbered_json_ops(section("### Server → device", "## DAVE ops")) == op_names(DaveServerOp)
    assert numbered_json_ops(section("### Device → server", "## DAVE ops")) == op_names(DaveDeviceOp)


def test_every_error_code_is_documented_and_every_documented_code_exists() -> None:
    paragraph = DOC[DOC.index("Error codes: ") : DOC.index("Close codes: ")]
    named = set(re.findall(r"`([a-z_<>]+)`", paragraph)) - {"dave_<refusal>"}
    reasons = {refusal.value for refusal in Refusal}
    refusals = {f"dave_{name}" for name in named_ops(section("### Refusals")) if name in reasons}
    parley_codes = {code.value for code in ErrorCode if not code.startswith("dave_")}
    assert parley_codes <= named | set(re.findall(r"`([a-z_]+)`", DOC)), "undocumented error codes"
    assert named <= {code.value for code in ErrorCode}, "documented codes the protocol does not have"
    assert {code.value for code in ErrorCode if code.startswith("dave_")} == refusals


def test_every_close_code_is_documented() -> None:
    paragraph = DOC[DOC.index("Close codes: ") :].split("\n\n")[0]
    assert {int(n) for n in re.findall(r"\b(1\d{3}|4\d{3})\b", paragraph)} == set(CloseCode)

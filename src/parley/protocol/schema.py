"""The JSON Schema of the whole wire protocol: every op in both directions and every code.

Clients that are not Python take their types from this (the browser's are generated from it,
web/src/generated), so the schema is the contract and these models its one source. Device ops
are described as a server accepts them (optional fields may be left out, never `op`); server
ops as the server sends them: every field present, but `id`, which only an answer carries.

`python -m parley.protocol.schema [PATH]` writes it (to stdout without PATH).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, TypeAdapter

from parley.protocol.codes import (
    CODE_SETS,
    AlarmKind,
    CloseCode,
    ErrorCode,
    IdentityProblem,
    MembershipStatus,
    RecordProblem,
)
from parley.protocol.dave_ops import DaveDeviceOp
from parley.protocol.device_ops import DeviceOp
from parley.protocol.server_ops import ServerOp

_REF = "#/$defs/{model}"


class _DeviceSide(BaseModel):
    device_op: DeviceOp | DaveDeviceOp


class _ServerSide(BaseModel):
    server_op: ServerOp
    error_code: ErrorCode
    close_code: CloseCode
    membership_status: MembershipStatus
    alarm_kind: AlarmKind
    identity_problem: IdentityProblem
    record_problem: RecordProblem


def _require(definitions: dict[str, Any], names: Callable[[dict[str, Any]], list[str]]) -> None:
    for definition in definitions.values():
        if "properties" in definition:
            definition["required"] = names(definition)


def wire_schema() -> dict[str, Any]:
    device = TypeAdapter(_DeviceSide).json_schema(mode="validation", ref_template=_REF)
    server = TypeAdapter(_ServerSide).json_schema(mode="serialization", ref_template=_REF)
    # pydantic leaves a field with a default out of `required`; but a discriminated union refuses
    # an op without its tag, and the server sends every field of its ops (an id only in answers).
    _require(device["$defs"], lambda d: sorted({*d.get("required", ()), *({"op"} & set(d["properties"]))}))
    _require(server["$defs"], lambda d: [name for name in d["properties"] if name != "id"])
    defs: dict[str, Any] = {}
    for part in (device, server):
        for name, definition in part.pop("$defs").items():
            if defs.setdefault(name, definition) != definition:
                raise ValueError(f"{name} differs between the two directions: rename one")
    for name, codes in CODE_SETS.items():
        defs[name] = {"title": name, "type": "string", "enum": sorted(codes)}
    properties = {**device["properties"], **server["properties"]}
    properties.update({_snake(name): {"$ref": _REF.format(model=name)} for name in CODE_SETS})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ParleyWire",
        "description": "Parley's wire protocol (docs/protocol.md), generated from parley.protocol.",
        "type": "object",
        "properties": properties,
        "$defs": dict(sorted(defs.items())),
    }


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def main(argv: list[str]) -> None:
    text = json.dumps(wire_schema(), indent=2, ensure_ascii=False) + "\n"
    if len(argv) > 1:
        with open(argv[1], "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main(sys.argv)

"""What every op model shares: strict, frozen, no unknown fields; the request id devices put on
their requests, so that each answer or error names the request it settles; and the refusal of
what does not parse."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from parley.protocol.codes import ErrorCode
from parley.protocol.errors import ParleyError
from parley.protocol.fields import MAX_SAFE

RequestId = Annotated[int, Field(ge=1, lt=MAX_SAFE)]


class Model(BaseModel):
    """Unknown fields are refused rather than ignored, so a peer's bug shows at once."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Empty(Model):
    pass


class ProtocolError(ParleyError, ValueError):
    """A message does not follow the protocol; `code` goes into the error op. A ValueError too,
    as every parser's refusal is."""


def refusal(e: ValidationError, op: object) -> ProtocolError:
    """The ProtocolError for a message that names `op` but fails its model: an op nobody
    defines, or the first field out of bounds (named, with the rule)."""
    first = e.errors()[0]
    if first["type"] == "union_tag_invalid":
        return ProtocolError(ErrorCode.UNKNOWN_OP, f"unknown op {op!r}")
    where = ".".join(str(p) for p in first["loc"])
    return ProtocolError(ErrorCode.INVALID, f"{op}: {where}: {first['msg']}")

"""The signalling edge's one mapping of errors: the `error` op it sends, whether the error counts
toward the device's limit of bad messages, and how a refused identify closes."""

from __future__ import annotations

import json

import pytest

from parley.e2ee.gateway import Refusal, Refused
from parley.interpretation.booth import BoothError
from parley.media.plane import MediaError
from parley.protocol.base import ProtocolError
from parley.protocol.codes import CloseCode, ErrorCode
from parley.protocol.errors import ParleyError, PolicyError
from parley.protocol.server_ops import encode
from parley.server.signaling import (
    DaveRefusal,
    _identify_close,
    counts_as_abuse,
    error_op,
)
from parley.summit.course import CourseError
from parley.summit.invitations import ExpiredToken, RevokedInvitation


def test_an_error_becomes_an_error_op_with_its_code_message_and_the_op_it_answers() -> None:
    sent = json.loads(
        encode(error_op(PolicyError(ErrorCode.AUDIO_ONLY, "interpreters publish audio only"), "publish"))
    )
    assert sent == {
        "op": "error",
        "d": {"code": "audio_only", "message": "interpreters publish audio only", "op": "publish"},
    }
    refused = json.loads(encode(error_op(ExpiredToken("this invitation has expired"), "identify")))
    assert refused["d"]["code"] == "invitation_expired"


@pytest.mark.parametrize(
    ("error", "counts"),
    [
        (ProtocolError(ErrorCode.INVALID, "heartbeat: nonce: too long"), True),
        (ProtocolError(ErrorCode.ALREADY_IDENTIFIED, "this connection is already identified"), True),
        (DaveRefusal(Refused(Refusal.BAD_SIGNATURE, "the key package is not signed by its leaf")), True),
        (DaveRefusal(Refused(Refusal.LATE_COMMIT, "another commit won")), False),
        (DaveRefusal(Refused(Refusal.WRONG_EPOCH, "the group was re-created")), False),
        (PolicyError(ErrorCode.CHANNEL_FORBIDDEN, "you interpret into ru"), False),
        (CourseError(ErrorCode.FORBIDDEN, "only the host may lock"), False),
        (BoothError(ErrorCode.BOOTH_BUSY, "another interpreter is live"), False),
        (MediaError(ErrorCode.MEDIA_UNAVAILABLE, "the media server is not connected"), False),
    ],
)
def test_only_a_broken_protocol_and_a_dave_op_refused_for_more_than_a_lost_race_count_as_abuse(
    error: ParleyError, counts: bool
) -> None:
    assert counts_as_abuse(error) is counts


def test_a_dave_refusal_carries_the_gateways_reason_as_its_code() -> None:
    refusal = DaveRefusal(Refused(Refusal.LATE_COMMIT, "another commit won"))
    assert (refusal.code, str(refusal)) == ("dave_late_commit", "another commit won")


@pytest.mark.parametrize(
    ("error", "close"),
    [
        (
            ProtocolError(ErrorCode.IDENTIFY_FIRST, "the first message must be identify"),
            (CloseCode.NOT_IDENTIFIED, "the first message must be identify"),
        ),
        (RevokedInvitation("this invitation was withdrawn"), (CloseCode.REFUSED, "invitation_revoked")),
        (
            MediaError(ErrorCode.MEDIA_UNAVAILABLE, "not available"),
            (CloseCode.TRY_AGAIN, "media_unavailable"),
        ),
        (CourseError(ErrorCode.SUMMIT_LOCKED, "locked"), (CloseCode.REFUSED, "summit_locked")),
        (CourseError(ErrorCode.SUMMIT_ENDED, "ended"), (4006, "summit_ended")),
        (CourseError(ErrorCode.OPENING_ENDED, "ended"), (4005, "opening_ended")),
        (CourseError(ErrorCode.LOBBY_FULL, "full"), (CloseCode.TRY_AGAIN, "lobby_full")),
        (CourseError(ErrorCode.INVITATION_IN_USE, "in use"), (CloseCode.TRY_AGAIN, "invitation_in_use")),
        (
            CourseError(ErrorCode.DEVICE_CONNECTED, "already connected"),
            (CloseCode.TRY_AGAIN, "device_connected"),
        ),
    ],
)
def test_a_refused_identify_closes_with_the_code_its_error_calls_for(
    error: ParleyError, close: tuple[int, str]
) -> None:
    assert _identify_close(error) == close


def test_every_refusal_of_the_dave_gateway_has_its_error_code() -> None:
    """DaveRefusal names its code from the gateway's Refusal: each must be an ErrorCode, and no
    dave_ code may be left without a refusal that sends it."""
    assert {f"dave_{r.value}" for r in Refusal} == {c.value for c in ErrorCode if c.startswith("dave_")}

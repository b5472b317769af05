"""The signalling edge's one mapping of errors: the `error` op it sends, whether the error counts
toward the device's limit of bad messages, and how a refused identify closes."""

from __future__ import annotations

import json

import pytest

from parley.e2ee.gateway import Refusal, Refused
from parley.errors import ParleyError, PolicyError
from parley.interpretation.booth import BoothError
from parley.media.plane import MediaError
from parley.server.protocol import ProtocolError
from parley.server.signaling import (
    CLOSE_INVITATION,
    CLOSE_NOT_IDENTIFIED,
    CLOSE_TRY_AGAIN,
    DaveRefusal,
    _identify_close,
    counts_as_abuse,
    error_op,
)
from parley.summit.course import CourseError
from parley.summit.invitations import ExpiredToken, RevokedInvitation


def test_an_error_becomes_an_error_op_with_its_code_message_and_the_op_it_answers() -> None:
    sent = json.loads(error_op(PolicyError("audio_only", "interpreters publish audio only"), "publish"))
    assert sent == {
        "op": "error",
        "d": {"code": "audio_only", "message": "interpreters publish audio only", "op": "publish"},
    }
    refused = json.loads(error_op(ExpiredToken("this invitation has expired"), "identify"))
    assert refused["d"]["code"] == "invitation_expired"


@pytest.mark.parametrize(
    ("error", "counts"),
    [
        (ProtocolError("invalid", "heartbeat: nonce: too long"), True),
        (ProtocolError("already_identified", "this connection is already identified"), True),
        (DaveRefusal(Refused(Refusal.BAD_SIGNATURE, "the key package is not signed by its leaf")), True),
        (DaveRefusal(Refused(Refusal.LATE_COMMIT, "another commit won")), False),
        (DaveRefusal(Refused(Refusal.WRONG_EPOCH, "the group was re-created")), False),
        (PolicyError("channel_forbidden", "you interpret into ru"), False),
        (CourseError("forbidden", "only the host may lock"), False),
        (BoothError("booth_busy", "another interpreter is live"), False),
        (MediaError("media_unavailable", "the media server is not connected"), False),
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
            ProtocolError("identify_first", "the first message must be identify"),
            (CLOSE_NOT_IDENTIFIED, "the first message must be identify"),
        ),
        (RevokedInvitation("this invitation was withdrawn"), (CLOSE_INVITATION, "invitation_revoked")),
        (MediaError("media_unavailable", "not available"), (CLOSE_TRY_AGAIN, "media_unavailable")),
        (CourseError("summit_locked", "locked"), (CLOSE_INVITATION, "summit_locked")),
        (CourseError("summit_ended", "ended"), (4006, "summit_ended")),
        (CourseError("opening_ended", "ended"), (4005, "opening_ended")),
        (CourseError("lobby_full", "full"), (CLOSE_TRY_AGAIN, "lobby_full")),
        (CourseError("invitation_in_use", "in use"), (CLOSE_TRY_AGAIN, "invitation_in_use")),
        (CourseError("device_connected", "already connected"), (CLOSE_TRY_AGAIN, "device_connected")),
    ],
)
def test_a_refused_identify_closes_with_the_code_its_error_calls_for(
    error: ParleyError, close: tuple[int, str]
) -> None:
    assert _identify_close(error) == close

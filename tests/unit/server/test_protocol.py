"""Client JSON at the signalling edge: every op parses; every breach is a ProtocolError naming the rule."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from support import identify_data

from parley.protocol.base import ProtocolError
from parley.protocol.codes import ErrorCode
from parley.protocol.dave_ops import DaveReadyForTransition
from parley.protocol.device_ops import (
    Candidate,
    Cough,
    HandOver,
    Heartbeat,
    Identify,
    Leave,
    Lock,
    Publish,
    Subscribe,
    SubscribeAnswer,
    TakeOver,
    Trickle,
    parse_device_frame,
    peek,
)
from parley.protocol.fields import MAX_NAME, MAX_PEOPLE, MAX_SDP, MAX_TEXT_FRAME
from parley.protocol.server_ops import (
    DeviceInfo,
    ErrorData,
    ErrorOp,
    OkOp,
    RosterData,
    RosterOp,
    SummitInfo,
    encode,
    parse_server_frame,
)
from parley.summit.model import Role

IDENTIFY = identify_data("pv1.a.b", ["Ada", "Grace"])
KEY = str(IDENTIFY["key"])
VALID: dict[str, dict[str, Any]] = {
    "identify": {"op": "identify", "d": IDENTIFY},
    "publish": {"op": "publish", "d": {"sdp": "v=0\r\n"}},
    "subscribe": {"op": "subscribe", "d": {"feed": 7}},
    "subscribe_answer": {"op": "subscribe_answer", "d": {"feed": 7, "sdp": "v=0\r\n"}},
    "trickle": {
        "op": "trickle",
        "d": {"feed": 7, "candidate": {"candidate": "candidate:1 1 udp 1 10.0.0.1 5000 typ host"}},
    },
    "leave": {"op": "leave", "d": {}},
    "heartbeat": {"op": "heartbeat", "d": {"nonce": 42}},
    "take_over": {"op": "take_over", "d": {}},
    "hand_over": {"op": "hand_over", "d": {}},
    "cough": {"op": "cough", "d": {"muted": True}},
}
WITHOUT_DATA = {"leave", "trickle", "take_over", "hand_over"}  # ops whose data may be left out


def parse_client_op(message: dict[str, Any]) -> object:
    """A device's op as the server's edge reads it: from its text frame."""
    return parse_device_frame(json.dumps(message))


def refusal(message: dict[str, Any]) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        parse_client_op(message)
    return caught.value


def with_data(op: str, **data: Any) -> dict[str, Any]:
    return {"op": op, "d": VALID[op]["d"] | data}


def test_identify_parses_with_its_people_and_protocol_version() -> None:
    op = parse_client_op(VALID["identify"])
    assert isinstance(op, Identify)
    assert op.d.token == "pv1.a.b" and op.d.people == ["Ada", "Grace"] and op.d.protocol_version == 1


def test_publish_parses_with_its_sdp() -> None:
    op = parse_client_op(VALID["publish"])
    assert isinstance(op, Publish) and op.d.sdp == "v=0\r\n"


def test_subscribe_parses_with_its_feed() -> None:
    op = parse_client_op(VALID["subscribe"])
    assert isinstance(op, Subscribe) and op.d.feed == 7


def test_subscribe_answer_parses_with_feed_and_sdp() -> None:
    op = parse_client_op(VALID["subscribe_answer"])
    assert isinstance(op, SubscribeAnswer) and op.d.feed == 7 and op.d.sdp == "v=0\r\n"


def test_trickle_parses_a_candidate_and_an_end_of_candidates() -> None:
    op = parse_client_op(VALID["trickle"])
    assert isinstance(op, Trickle) and op.d.feed == 7
    assert op.d.candidate == Candidate(candidate="candidate:1 1 udp 1 10.0.0.1 5000 typ host")

    end = parse_client_op({"op": "trickle", "d": {}})
    assert isinstance(end, Trickle) and end.d.feed is None and end.d.candidate is None


def test_leave_parses_with_or_without_data() -> None:
    assert isinstance(parse_client_op(VALID["leave"]), Leave)
    assert isinstance(parse_client_op({"op": "leave"}), Leave)


def test_heartbeat_parses_with_its_nonce() -> None:
    op = parse_client_op(VALID["heartbeat"])
    assert isinstance(op, Heartbeat) and op.d.nonce == 42


def test_parsed_ops_are_frozen() -> None:
    op = parse_client_op(VALID["heartbeat"])
    assert isinstance(op, Heartbeat)
    with pytest.raises(ValueError, match="frozen"):
        op.d.nonce = 1


def test_an_unknown_op_is_refused_as_unknown_op() -> None:
    error = refusal({"op": "teleport", "d": {}})
    assert error.code == "unknown_op" and "'teleport'" in str(error)


@pytest.mark.parametrize("message", [{}, {"d": {}}, {"op": 1.5}, {"op": None}, {"op": ["identify"]}])
def test_a_message_without_a_string_op_is_malformed(message: dict[str, Any]) -> None:
    assert refusal(message).code == "malformed"


@pytest.mark.parametrize("op", sorted(VALID))
def test_an_extra_top_level_field_is_refused(op: str) -> None:
    error = refusal(VALID[op] | {"seq": 1})
    assert error.code == "invalid" and "seq" in str(error) and str(error).startswith(f"{op}:")


@pytest.mark.parametrize("op", sorted(VALID))
def test_an_extra_data_field_is_refused(op: str) -> None:
    error = refusal(with_data(op, surprise=True))
    assert error.code == "invalid" and "d.surprise" in str(error)


def test_an_extra_candidate_field_is_refused() -> None:
    message = {"op": "trickle", "d": {"candidate": {"candidate": "c", "usernameFragment": "u"}}}
    error = refusal(message)
    assert error.code == "invalid" and "usernameFragment" in str(error)


@pytest.mark.parametrize(
    ("op", "data", "field"),
    [
        ("identify", {"people": []}, "d.people"),
        ("identify", {"people": [f"person {i}" for i in range(MAX_PEOPLE + 1)]}, "d.people"),
        ("identify", {"people": ["x" * (MAX_NAME + 1)]}, "d.people.0"),
        ("identify", {"people": ["Ada", ""]}, "d.people.1"),
        ("identify", {"token": ""}, "d.token"),
        ("identify", {"token": "t" * 1025}, "d.token"),
        ("identify", {"protocol_version": 2}, "d.protocol_version"),
        ("publish", {"sdp": "x" * (MAX_SDP + 1)}, "d.sdp"),
        ("publish", {"sdp": ""}, "d.sdp"),
        ("subscribe_answer", {"sdp": "x" * (MAX_SDP + 1)}, "d.sdp"),
        ("subscribe", {"feed": 0}, "d.feed"),
        ("subscribe", {"feed": 2**53}, "d.feed"),
        ("subscribe", {"feed": "seven"}, "d.feed"),
        ("subscribe_answer", {"feed": 0}, "d.feed"),
        ("trickle", {"feed": 2**53}, "d.feed"),
        ("heartbeat", {"nonce": -1}, "d.nonce"),
        ("heartbeat", {"nonce": 2**53}, "d.nonce"),
        ("heartbeat", {"nonce": 1.5}, "d.nonce"),
    ],
)
def test_a_field_out_of_bounds_is_invalid_and_named(op: str, data: dict[str, Any], field: str) -> None:
    error = refusal(with_data(op, **data))
    assert error.code == "invalid"
    assert str(error).startswith(f"{op}: ") and f".{field}:" in str(error)


def test_the_bounds_themselves_are_accepted() -> None:
    people = ["x" * MAX_NAME] * MAX_PEOPLE
    assert isinstance(parse_client_op(with_data("identify", people=people)), Identify)
    assert isinstance(parse_client_op(with_data("publish", sdp="x" * MAX_SDP)), Publish)
    assert isinstance(parse_client_op(with_data("subscribe", feed=2**53 - 1)), Subscribe)
    assert isinstance(parse_client_op(with_data("heartbeat", nonce=0)), Heartbeat)


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("Ada\u202eLovelace", "not U+202E"),  # right-to-left override: one name shown as another
        ("Ada\u2066x", "not U+2066"),  # a bidirectional isolate
        ("Ada\nLovelace", "not U+000A"),
        ("Ada\x00", "not U+0000"),
        ("\u200b", "not U+200B"),  # zero-width space: a name that shows as nothing
        ("Ada\ue000", "not U+E000"),  # private use
        ("Ada\u2028Lovelace", "not U+2028"),  # line separator
        ("   ", "may not be blank"),
        ("\U0001f600" * (MAX_NAME + 1), f"at most {MAX_NAME} characters"),
        ("x" * (4 * MAX_NAME + 1), "at most 256 characters"),  # refused before it is looked at
    ],
)
def test_a_name_that_does_not_print_as_itself_is_invalid_and_the_rule_named(name: str, rule: str) -> None:
    error = refusal(with_data("identify", people=["Grace", name]))
    assert error.code == "invalid" and "d.people.1:" in str(error) and rule in str(error)


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("  Ada Lovelace ", "Ada Lovelace"),
        ("Jose\u0301", "Jos\u00e9"),  # NFC: one way to spell each name
        ("\U00020bb7\u91ce", "\U00020bb7\u91ce"),  # a CJK name beyond the BMP
        ("\U0001f600" * MAX_NAME, "\U0001f600" * MAX_NAME),  # astral characters count one each
        (
            "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627",
            "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627",
        ),
    ],
)
def test_a_name_is_kept_as_every_device_will_show_it(name: str, shown: str) -> None:
    op = parse_client_op(with_data("identify", people=[name]))
    assert isinstance(op, Identify) and op.d.people == [shown]


@pytest.mark.parametrize(
    ("candidate", "field"),
    [
        ({"candidate": "c" * 1025}, "candidate"),
        ({"candidate": "c", "sdpMid": "m" * 33}, "sdpMid"),
        ({"candidate": "c", "sdpMLineIndex": -1}, "sdpMLineIndex"),
        ({"candidate": "c", "sdpMLineIndex": 65}, "sdpMLineIndex"),
    ],
)
def test_a_candidate_out_of_bounds_is_invalid_and_named(candidate: dict[str, Any], field: str) -> None:
    error = refusal({"op": "trickle", "d": {"candidate": candidate}})
    assert error.code == "invalid" and f"d.candidate.{field}:" in str(error)


@pytest.mark.parametrize("op", sorted(set(VALID) - WITHOUT_DATA))
def test_missing_data_is_invalid(op: str) -> None:
    error = refusal({"op": op})
    assert error.code == "invalid" and ".d:" in str(error)


def test_a_dave_numeric_op_parses_to_its_dave_model() -> None:
    op = parse_device_frame(json.dumps({"op": 23, "d": {"transition_id": 3}}))
    assert isinstance(op, DaveReadyForTransition) and op.d.transition_id == 3


def test_a_dave_op_that_no_device_sends_is_an_unknown_op() -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_device_frame(json.dumps({"op": 11, "d": {"user_ids": []}}))
    assert caught.value.code == "unknown_op"


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({"op": 23, "d": {"transition_id": "1"}}, "invalid"),
        ({"op": 23, "d": {"transition_id": True}}, "invalid"),
        ({"op": 23, "d": {"transition_id": 70000}}, "invalid"),
        ({"op": 23}, "invalid"),
        ({"op": 31, "d": {"transition_id": 1, "x": 2}}, "invalid"),
        ({"op": 22, "d": {"transition_id": 1}}, "unknown_op"),
    ],
)
def test_a_bad_dave_json_op_is_refused_at_the_edge(message: dict[str, Any], code: str) -> None:
    assert refusal(message).code == code


def test_a_request_carries_its_id_and_a_refused_frame_still_names_it() -> None:
    op = parse_device_frame('{"op":"lock","id":9,"d":{"locked":true}}')
    assert isinstance(op, Lock) and op.id == 9
    assert peek('{"op":"lock","id":9,"d":{"locked":"yes"}}') == ("lock", 9)
    assert peek('{"op":23,"d":{"transition_id":"x"}}') == (23, None)
    for text in ['{"op":"lock","id":0,"d":{}}', '{"op":"lock","id":"9"}', '{"id":true}']:
        assert peek(text)[1] is None
    for text in [
        "{",
        "[]",
        '{"op":1.5}',
        '{"op":' + '"x"' * 0 + "[]}",
        '{"op":"' + "x" * 33 + '"}',
        '{"op":999}',
    ]:
        assert peek(text)[0] is None
    assert refusal({"op": "lock", "id": 0, "d": {"locked": True}}).code == "invalid"


@pytest.mark.parametrize("text", ["[]", '"op"', "42", "null", "true", '[{"op": "leave"}]'])
def test_a_frame_that_is_json_but_not_an_object_is_malformed(text: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_device_frame(text)
    assert caught.value.code == "malformed"


@pytest.mark.parametrize("text", ["", "{", '{"op": "leave"', "{'op': 'leave'}", '{"op": "leave"} {}', "\x00"])
def test_a_frame_that_is_not_json_is_malformed(text: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_device_frame(text)
    assert caught.value.code == "malformed"


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_a_frame_nested_too_deep_for_the_parser_is_malformed(opener: str) -> None:
    # Well under the size limit, yet deep enough to exhaust json's recursion limit.
    text = opener * 5000
    assert len(text) <= MAX_TEXT_FRAME
    with pytest.raises(ProtocolError) as caught:
        parse_device_frame(text)
    assert caught.value.code == "malformed"


def test_a_frame_over_the_size_limit_is_too_large_before_parsing() -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_device_frame("{" * (MAX_TEXT_FRAME + 1))
    assert caught.value.code == "too_large" and str(MAX_TEXT_FRAME) in str(caught.value)


def test_a_frame_of_exactly_the_size_limit_is_parsed_and_judged_by_its_fields() -> None:
    padding = MAX_TEXT_FRAME - len('{"op":"publish","d":{"sdp":""}}')
    text = '{"op":"publish","d":{"sdp":"' + "x" * padding + '"}}'
    assert len(text) == MAX_TEXT_FRAME
    with pytest.raises(ProtocolError) as caught:
        parse_device_frame(text)
    assert caught.value.code == "invalid" and "d.sdp" in str(caught.value)


def test_protocol_errors_are_value_errors_carrying_their_code() -> None:
    error = ProtocolError(ErrorCode.INVALID, "heartbeat: bad")
    assert isinstance(error, ValueError) and error.code == "invalid" and str(error) == "heartbeat: bad"


def test_server_ops_are_compact_json_with_an_id_only_when_they_answer_a_request() -> None:
    device = DeviceInfo(
        user_id=5, delegation_id="d1", delegation="N", role=Role.DELEGATE, people=["Ada"], key=KEY, link="f"
    )
    assert json.loads(encode(RosterOp(d=RosterData(devices=[device])))) == {
        "op": "roster",
        "d": {
            "devices": [
                {
                    "user_id": 5,
                    "delegation_id": "d1",
                    "delegation": "N",
                    "role": "delegate",
                    "people": ["Ada"],
                    "publishing": False,
                    "language": None,
                    "key": KEY,
                    "link": "f",
                }
            ]
        },
    }
    assert encode(OkOp(id=4)) == '{"id":4,"op":"ok","d":{}}'
    refused = ErrorOp(d=ErrorData(code=ErrorCode.INVALID, message="bad", op="lock"))
    assert encode(refused) == '{"op":"error","d":{"code":"invalid","message":"bad","op":"lock"}}'


def test_a_client_reads_back_what_the_server_sends_and_refuses_what_no_server_sends() -> None:
    sent = ErrorOp(id=3, d=ErrorData(code=ErrorCode.FORBIDDEN, message="no", op="lock"))
    assert parse_server_frame(encode(sent)) == sent
    refused = ['{"op":"ok","d":{},"extra":1}', '{"op":"teleport","d":{}}', '{"op":"error","d":{"code":"x"}}']
    for text in refused:
        with pytest.raises(ProtocolError):
            parse_server_frame(text)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
op_names = st.sampled_from([*VALID, "teleport", ""]) | st.text(max_size=10) | json_values


@given(st.dictionaries(st.sampled_from(["op", "d", "x"]) | st.text(max_size=5), json_values, max_size=4))
def test_random_json_objects_only_raise_protocol_errors(message: dict[str, Any]) -> None:
    with contextlib.suppress(ProtocolError):
        parse_client_op(message)


@given(
    op_names,
    st.dictionaries(
        st.sampled_from(["token", "people", "sdp", "feed", "nonce", "candidate", "channel", "muted"]),
        json_values,
    ),
)
def test_random_data_for_any_op_only_raises_protocol_errors(op: Any, data: dict[str, Any]) -> None:
    try:
        parse_client_op({"op": op, "d": data})
    except ProtocolError as e:
        assert e.code in ("malformed", "unknown_op", "invalid")


@given(st.text(max_size=200))
def test_random_text_frames_only_raise_protocol_errors(text: str) -> None:
    try:
        message = parse_device_frame(text)
    except ProtocolError as e:
        assert e.code == "malformed"
    else:
        assert isinstance(message, dict)


@pytest.mark.parametrize(
    ("op", "data", "field"),
    [
        ("heartbeat", {"nonce": True}, "nonce"),
        ("heartbeat", {"nonce": "5"}, "nonce"),
        ("subscribe", {"feed": 5.0}, "feed"),
        (
            "identify",
            {**identify_data("t", ["A"]), "protocol_version": "1"},
            "protocol_version",
        ),
    ],
)
def test_values_of_the_wrong_json_type_are_refused_not_coerced(
    op: str, data: dict[str, Any], field: str
) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_client_op({"op": op, "d": data})
    assert caught.value.code == "invalid" and field in str(caught.value)


# -- interpretation ------------------------------------------------------------------------------


def test_publish_goes_to_the_floor_unless_it_names_a_channel() -> None:
    floor = parse_client_op(VALID["publish"])
    assert isinstance(floor, Publish) and floor.d.channel is None
    explicit = parse_client_op(with_data("publish", channel=None))
    assert isinstance(explicit, Publish) and explicit.d.channel is None
    channel = parse_client_op(with_data("publish", channel="zh-Hans"))
    assert isinstance(channel, Publish) and channel.d.channel == "zh-Hans" and channel.d.sdp == "v=0\r\n"


@pytest.mark.parametrize("channel", ["en", "yue", "sr-Latn-RS", "tlh"])
def test_a_publish_channel_of_a_language_tags_shape_parses_whatever_the_summit_has(channel: str) -> None:
    op = parse_client_op(with_data("publish", channel=channel))
    assert isinstance(op, Publish) and op.d.channel == channel  # the room checks the summit has it


@pytest.mark.parametrize("channel", ["", "e", "en_US", "en-", "ru!", "x" * 17, "en\n", "en-a-b-c", "../en"])
def test_a_publish_channel_that_is_not_a_language_tag_is_invalid_and_named(channel: str) -> None:
    error = refusal(with_data("publish", channel=channel))
    assert error.code == "invalid" and ".d.channel:" in str(error)


@pytest.mark.parametrize("channel", [1, ["en"], {"tag": "en"}, True])
def test_a_publish_channel_of_the_wrong_json_type_is_refused(channel: Any) -> None:
    error = refusal(with_data("publish", channel=channel))
    assert error.code == "invalid" and "d.channel" in str(error)


def test_take_over_and_hand_over_parse_with_or_without_data() -> None:
    assert isinstance(parse_client_op(VALID["take_over"]), TakeOver)
    assert isinstance(parse_client_op({"op": "take_over"}), TakeOver)
    assert isinstance(parse_client_op(VALID["hand_over"]), HandOver)
    assert isinstance(parse_client_op({"op": "hand_over"}), HandOver)


@pytest.mark.parametrize("muted", [True, False])
def test_cough_parses_with_its_muted_flag(muted: bool) -> None:
    op = parse_client_op(with_data("cough", muted=muted))
    assert isinstance(op, Cough) and op.d.muted is muted


@pytest.mark.parametrize("muted", [1, 0, "true", None])
def test_a_cough_flag_that_is_not_a_boolean_is_refused_not_coerced(muted: Any) -> None:
    error = refusal(with_data("cough", muted=muted))
    assert error.code == "invalid" and "d.muted" in str(error)


def test_a_cough_without_its_flag_is_invalid() -> None:
    error = refusal({"op": "cough", "d": {}})
    assert error.code == "invalid" and "d.muted" in str(error)


def test_a_device_shows_its_channel_and_a_summit_its_languages_and_ducking() -> None:
    interpreter = DeviceInfo(
        user_id=5,
        delegation_id="d1",
        delegation="North",
        role=Role.INTERPRETER,
        people=["Ada"],
        language="ru",
        key=KEY,
        link="0f",
    )
    assert json.loads(interpreter.model_dump_json())["language"] == "ru"
    summit = SummitInfo(
        summit_id="s1",
        title="Talks",
        scheduled_start="2027-03-01T09:30:00+00:00",
        duration_minutes=60,
        channel_id=42,
        delegations=[],
        languages=["en", "ru"],
        ducking=0.2,
    )
    sent = json.loads(summit.model_dump_json())
    assert sent["languages"] == ["en", "ru"] and sent["ducking"] == 0.2


@pytest.mark.parametrize(
    "key",
    ["A" * 87, KEY[:-1], KEY + "A", "!" * 87],
    ids=["not a curve point", "too short", "too long", "not base64url"],
)
def test_identify_refuses_a_key_that_is_not_a_p256_point(key: str) -> None:
    error = refusal(with_data("identify", key=key))
    assert error.code == "invalid" and "d.key" in str(error)


def test_identify_needs_the_devices_key() -> None:
    message = {"op": "identify", "d": {"token": "pv1.a.b", "people": ["Ada"]}}
    assert "d.key" in str(refusal(message))


def test_identify_refuses_a_proof_by_another_key_or_for_another_token() -> None:
    other = identify_data("pv1.a.b", ["Ada"])
    assert "proof" in str(refusal(with_data("identify", proof=other["proof"])))  # another key's
    moved = identify_data("pv1.other.token", ["Ada"])
    assert "proof" in str(refusal(with_data("identify", proof=moved["proof"], key=moved["key"])))


def test_the_summit_s_pins_are_thirty_digits_on_the_wire_and_nothing_else_reads() -> None:
    """A client parses the pins it is shown: a server sending anything but 30 digits is refused
    at the edge, not left to fail the client's join later."""
    fields: dict[str, Any] = {
        "summit_id": "s1",
        "title": "Talks",
        "scheduled_start": "2027-03-01T09:30:00+00:00",
        "duration_minutes": 60,
        "channel_id": 42,
        "delegations": [],
        "languages": [],
        "ducking": 0.2,
    }
    digits = "1" * 30
    assert SummitInfo.model_validate({**fields, "pins": {"North": digits}}).pins == {"North": digits}
    for pin in ("1" * 29, "1" * 31, "11111 " * 5 + "11111", "1" * 29 + "x"):
        with pytest.raises(ValidationError):
            SummitInfo.model_validate({**fields, "pins": {"North": pin}})

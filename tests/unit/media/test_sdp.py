"""What the server reads of an offer (each m= section's kind, port and mids; port 0 sends nothing),
and which offers it refuses to relay because the policy could not map them onto Janus."""

from __future__ import annotations

import pytest

from parley.media.sdp import MediaSection, OfferError, check_offer, parse_offer


def sections(sdp: str) -> list[MediaSection]:
    return list(parse_offer(sdp).sections)


BROWSER_OFFER = "\r\n".join(
    [
        "v=0",
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1",
        "a=msid-semantic: WMS",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "c=IN IP4 0.0.0.0",
        "a=mid:0",
        "a=sendonly",
        "a=rtpmap:111 opus/48000/2",
        "m=video 9 UDP/TLS/RTP/SAVPF 96",
        "c=IN IP4 0.0.0.0",
        "a=mid:1",
        "a=sendonly",
        "a=rtpmap:96 VP8/90000",
        "",
    ]
)


def test_a_browser_offer_has_an_audio_and_a_video_section_with_their_mids() -> None:
    assert sections(BROWSER_OFFER) == [MediaSection("audio", 9, ("0",)), MediaSection("video", 9, ("1",))]
    assert all(s.active for s in sections(BROWSER_OFFER))


def test_a_section_with_port_zero_is_inactive() -> None:
    offer = BROWSER_OFFER.replace("m=video 9 ", "m=video 0 ")
    audio, video = sections(offer)
    assert audio.active and not video.active and video.port == 0 and video.mid == "1"


def test_lines_ending_in_a_bare_newline_parse_the_same() -> None:
    assert sections(BROWSER_OFFER.replace("\r\n", "\n")) == sections(BROWSER_OFFER)


def test_an_sdp_without_media_sections_has_none() -> None:
    assert sections("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n") == []
    assert sections("") == []


def test_a_session_level_mid_belongs_to_no_section_and_a_section_may_have_none() -> None:
    sdp = (
        "v=0\r\na=mid:session\r\nm=audio 9 RTP/AVP 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    )
    sdp += "a=mid:dc\r\n"
    assert sections(sdp) == [MediaSection("audio", 9), MediaSection("application", 9, ("dc",))]


def test_a_mid_is_read_without_surrounding_whitespace() -> None:
    assert sections("m=audio 9 RTP/AVP 0\r\na=mid: a1 \r\n")[0].mid == "a1"


def test_a_port_that_does_not_parse_counts_as_active_so_policy_errs_on_the_side_of_refusing() -> None:
    garbled, bare = sections("m=video nine RTP/AVP 96\r\nm=video\r\n")
    assert garbled.kind == "video" and garbled.port == -1 and garbled.active
    assert bare.kind == "video" and bare.active


FLOOR = {"audio": 1, "video": 1}
CHANNEL = {"audio": 1}
VOICE = BROWSER_OFFER.replace("a=group:BUNDLE 0 1", "a=group:BUNDLE 0").split("m=video")[0]


def test_what_the_browser_and_the_sdk_offer_is_accepted() -> None:
    assert check_offer(BROWSER_OFFER, FLOOR).bundles == (("0", "1"),)
    assert [s.mid for s in check_offer(VOICE, CHANNEL).sections] == ["0"]
    assert check_offer(BROWSER_OFFER.replace("m=video 9 ", "m=video 0 "), FLOOR)  # camera declined


@pytest.mark.parametrize(
    ("offer", "rule"),
    [
        (VOICE.replace("a=mid:0\r\n", "").replace("a=group:BUNDLE 0\r\n", ""), "exactly one a=mid"),
        (VOICE.replace("a=mid:0\r\n", ""), "exactly one a=mid"),
        (VOICE + "a=mid:1\r\n", "exactly one a=mid"),
        (VOICE + "a=MID:x\r\n", "exactly one a=mid"),  # Janus reads attribute names case-blind
        (VOICE.replace("a=mid:0", "a=mid:a b"), "exactly one a=mid"),
        (VOICE.replace("a=mid:0", "a=mid:"), "exactly one a=mid"),
        (VOICE.replace("a=group:BUNDLE 0\r\n", ""), "BUNDLE"),
        (VOICE.replace("a=group:BUNDLE 0", "a=group:BUNDLE 1"), "BUNDLE"),
        (VOICE + "a=group:BUNDLE 0\r\n", "BUNDLE"),
        (VOICE.replace("a=mid:0\r\n", "a=mid:0\ra=x\r\n"), "line break"),
        (VOICE.replace("a=sendonly", "a=send\x00only"), "control"),
        ("v=0\r\n", "no media section"),
        (VOICE.replace("m=audio 9 ", "m=audio nine "), "does not parse"),
    ],
)
def test_an_offer_whose_sections_cannot_be_named_is_refused(offer: str, rule: str) -> None:
    with pytest.raises(OfferError, match=rule):
        check_offer(offer, CHANNEL)


@pytest.mark.parametrize(
    "extra",
    [
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\n",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\n",
        "m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n",
    ],
)
def test_a_section_the_device_may_not_publish_is_refused_even_disabled(extra: str) -> None:
    offer = VOICE.replace("BUNDLE 0", "BUNDLE 0 1") + extra
    with pytest.raises(OfferError, match="at most"):
        check_offer(offer, CHANNEL)


def test_two_sections_with_one_mid_are_refused_whatever_the_case() -> None:
    offer = BROWSER_OFFER.replace("a=mid:1", "a=mid:0").replace("BUNDLE 0 1", "BUNDLE 0 0")
    with pytest.raises(OfferError, match="share a mid"):
        check_offer(offer, FLOOR)
    offer = BROWSER_OFFER.replace("a=mid:0", "a=mid:a").replace("a=mid:1", "a=mid:A")
    with pytest.raises(OfferError, match="share a mid"):
        check_offer(offer.replace("BUNDLE 0 1", "BUNDLE a A"), FLOOR)

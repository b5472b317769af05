"""What the server reads of an offer: each m= section's kind, port and mid; port 0 sends nothing."""

from __future__ import annotations

from parley.media.sdp import MediaSection, media_sections

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
    assert media_sections(BROWSER_OFFER) == [MediaSection("audio", 9, "0"), MediaSection("video", 9, "1")]
    assert all(s.active for s in media_sections(BROWSER_OFFER))


def test_a_section_with_port_zero_is_inactive() -> None:
    offer = BROWSER_OFFER.replace("m=video 9 ", "m=video 0 ")
    audio, video = media_sections(offer)
    assert audio.active and not video.active and video.port == 0 and video.mid == "1"


def test_lines_ending_in_a_bare_newline_parse_the_same() -> None:
    assert media_sections(BROWSER_OFFER.replace("\r\n", "\n")) == media_sections(BROWSER_OFFER)


def test_an_sdp_without_media_sections_has_none() -> None:
    assert media_sections("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n") == []
    assert media_sections("") == []


def test_a_session_level_mid_belongs_to_no_section_and_a_section_may_have_none() -> None:
    sdp = (
        "v=0\r\na=mid:session\r\nm=audio 9 RTP/AVP 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    )
    sdp += "a=mid:dc\r\n"
    assert media_sections(sdp) == [MediaSection("audio", 9, None), MediaSection("application", 9, "dc")]


def test_a_mid_is_read_without_surrounding_whitespace() -> None:
    assert media_sections("m=audio 9 RTP/AVP 0\r\na=mid: a1 \r\n")[0].mid == "a1"


def test_a_port_that_does_not_parse_counts_as_active_so_policy_errs_on_the_side_of_refusing() -> None:
    garbled, bare = media_sections("m=video nine RTP/AVP 96\r\nm=video\r\n")
    assert garbled.kind == "video" and garbled.port == -1 and garbled.active
    assert bare.kind == "video" and bare.active

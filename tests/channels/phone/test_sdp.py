import pytest

from helpline.channels.phone.sdp import LocalSdp, NoCommonCodec, SdpError, SessionDescription, negotiate


def offer(formats: str = "8 0 101", *extra: str, connection: str = "c=IN IP4 192.0.2.10",
          proto: str = "RTP/AVP") -> str:
    lines = ["v=0", "o=- 1 1 IN IP4 192.0.2.10", "s=-", connection, "t=0 0", f"m=audio 49170 {proto} {formats}",
             "a=rtpmap:8 PCMA/8000", "a=rtpmap:0 PCMU/8000", *extra]
    return "\r\n".join(lines) + "\r\n"


def test_the_offerers_first_common_codec_wins() -> None:
    negotiated = negotiate(SessionDescription.parse(offer("18 8 0")))
    assert (negotiated.codec, negotiated.payload_type) == ("PCMA", 8)
    assert (negotiated.remote_host, negotiated.remote_port) == ("192.0.2.10", 49170)
    assert negotiate(SessionDescription.parse(offer("0 8"))).codec == "PCMU"
    assert negotiate(SessionDescription.parse(offer("8 0")), codecs=("PCMU",)).codec == "PCMU"


def test_static_payload_types_need_no_rtpmap_and_dynamic_ones_do_not_fool_us() -> None:
    text = "v=0\r\nc=IN IP4 10.1.1.1\r\nm=audio 4000 RTP/AVP 96 0\r\na=rtpmap:96 opus/48000/2\r\n"
    assert negotiate(SessionDescription.parse(text)).payload_type == 0
    text = "v=0\r\nc=IN IP4 10.1.1.1\r\nm=audio 4000 RTP/AVP 97\r\na=rtpmap:97 PCMU/8000\r\n"
    assert negotiate(SessionDescription.parse(text)).payload_type == 97


def test_telephone_event_takes_the_offerers_payload_type() -> None:
    negotiated = negotiate(SessionDescription.parse(offer("0 96", "a=rtpmap:96 telephone-event/8000",
                                                          "a=fmtp:96 0-15")))
    assert negotiated.dtmf_payload_type == 96
    assert negotiate(SessionDescription.parse(offer("0"))).dtmf_payload_type is None
    wideband = offer("0 97", "a=rtpmap:97 telephone-event/16000")
    assert negotiate(SessionDescription.parse(wideband)).dtmf_payload_type is None


@pytest.mark.parametrize(("theirs", "ours", "sending"), [
    ("sendrecv", "sendrecv", True), ("sendonly", "recvonly", False), ("recvonly", "sendonly", True),
    ("inactive", "inactive", False),
])
def test_directions_mirror_the_offer(theirs: str, ours: str, sending: bool) -> None:
    negotiated = negotiate(SessionDescription.parse(offer("0", f"a={theirs}")))
    assert negotiated.local_direction == ours and negotiated.sending is sending
    answer = SessionDescription.parse(LocalSdp("127.0.0.1", 10000).answer(negotiated))
    media = answer.audio()
    assert media is not None and media.direction == ours


def test_session_level_direction_and_old_style_hold() -> None:
    text = "v=0\r\nc=IN IP4 0.0.0.0\r\na=sendonly\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
    negotiated = negotiate(SessionDescription.parse(text))
    assert negotiated.local_direction == "recvonly" and not negotiated.sending and negotiated.held_by_address
    text = "v=0\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
    assert not negotiate(SessionDescription.parse(text)).sending  # RFC 2543 hold: c=0.0.0.0 alone


def test_ptime() -> None:
    assert negotiate(SessionDescription.parse(offer("0", "a=ptime:30"))).ptime == 30
    assert negotiate(SessionDescription.parse(offer("0", "a=ptime:25"))).ptime == 20
    assert negotiate(SessionDescription.parse(offer("0"))).ptime == 20


@pytest.mark.parametrize("text", [
    offer("18 9", "a=rtpmap:18 G729/8000", "a=rtpmap:9 G722/8000"),
    offer("0", proto="RTP/SAVP"),
    "v=0\r\nc=IN IP4 10.0.0.1\r\nm=video 4000 RTP/AVP 96\r\n",
    "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 0 RTP/AVP 0\r\n",  # port 0: the stream is refused
])
def test_no_common_codec(text: str) -> None:
    with pytest.raises(NoCommonCodec):
        negotiate(SessionDescription.parse(text))


def test_missing_connection_is_an_error() -> None:
    with pytest.raises(SdpError):
        negotiate(SessionDescription.parse("v=0\r\nm=audio 4000 RTP/AVP 0\r\n"))


def test_our_offer_and_answer() -> None:
    local = LocalSdp("198.51.100.7", 10002)
    first = SessionDescription.parse(local.offer())
    media = first.audio()
    assert media is not None
    assert media.formats == [0, 8, 101] and media.rtpmap[101] == ("telephone-event", 8000)
    assert media.port == 10002 and first.connection == "198.51.100.7" and media.direction == "sendrecv"
    answer = negotiate(SessionDescription.parse(offer("8 0 101", "a=rtpmap:101 telephone-event/8000", "a=ptime:30")))
    second = SessionDescription.parse(local.answer(answer))
    media = second.audio()
    assert media is not None and media.formats == [8, 101] and media.ptime == 30
    assert second.origin_version == first.origin_version + 1  # each new description is a new version
    assert second.origin_session == first.origin_session

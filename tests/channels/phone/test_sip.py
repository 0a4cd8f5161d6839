import pytest

from helpline.channels.phone.sip import (
    Credentials,
    NameAddr,
    SipParseError,
    SipRequest,
    SipResponse,
    SipUri,
    Via,
    digest_authorization,
    new_branch,
    parse_challenge,
    parse_message,
    response_to,
    split_list,
)

INVITE = (
    "INVITE sip:helpline@10.0.0.1:5060 SIP/2.0\r\n"
    "v: SIP/2.0/UDP 10.0.0.9:5070;branch=z9hG4bKproxy;received=10.0.0.9, SIP/2.0/UDP 10.0.0.7;branch=z9hG4bKa\r\n"
    "Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bKb;rport=5062\r\n"
    "Max-Forwards: 68\r\n"
    'f: "Alice, Smith" <sip:alice@example.com>;tag=1928301774\r\n'
    "t: <sip:helpline@example.com>\r\n"
    "i: a84b4c76e66710@pc33.example.com\r\n"
    "CSeq: 314159 INVITE\r\n"
    "m: <sip:alice@10.0.0.5:5062;transport=udp>\r\n"
    "Subject: a long\r\n"
    "  folded subject\r\n"
    "Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"
    "c: application/sdp\r\n"
    "l: 4\r\n"
    "\r\n"
    "v=0\r\ntrailing bytes beyond the length"
)


def test_parses_a_request_with_compact_forms_folding_and_several_vias() -> None:
    message = parse_message(INVITE.encode())
    assert isinstance(message, SipRequest)
    assert (message.method, message.uri) == ("INVITE", "sip:helpline@10.0.0.1:5060")
    assert [via.branch for via in message.vias] == ["z9hG4bKproxy", "z9hG4bKa", "z9hG4bKb"]
    assert message.top_via.params["received"] == "10.0.0.9"
    assert message.vias[2].port == 5062 and message.vias[1].port is None
    assert message.from_.display == "Alice, Smith" and message.from_.tag == "1928301774"
    assert message.to.tag == ""
    assert message.call_id == "a84b4c76e66710@pc33.example.com"
    assert message.cseq == (314159, "INVITE")
    contact = message.contact
    assert contact is not None and contact.uri.params["transport"] == "udp" and contact.uri.port == 5062
    assert message.headers.get("subject") == "a long folded subject"
    assert message.headers.values("Record-Route") == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    assert message.body == b"v=0\r"  # Content-Length rules: the rest of the datagram is not ours
    assert message.content_type == "application/sdp"


def test_response_copies_every_via_in_order_and_tags_the_to() -> None:
    request = parse_message(INVITE.encode())
    assert isinstance(request, SipRequest)
    response = response_to(request, 180, to_tag="abc")
    data = response.serialize()
    again = parse_message(data)
    assert isinstance(again, SipResponse)
    assert (again.status, again.reason) == (180, "Ringing")
    assert [via.branch for via in again.vias] == ["z9hG4bKproxy", "z9hG4bKa", "z9hG4bKb"]
    assert again.to.tag == "abc" and again.from_.tag == "1928301774"
    assert again.headers.values("Record-Route") == request.headers.values("Record-Route")
    assert again.headers.get("Content-Length") == "0"
    assert response_to(request, 100).to.tag == ""  # 100 Trying makes no dialog


def test_serialising_sets_content_length_from_the_body() -> None:
    request = SipRequest(method="MESSAGE", uri="sip:bob@example.com")
    for name, value in [("Via", f"SIP/2.0/UDP h;branch={new_branch()}"), ("From", "<sip:a@h>;tag=1"),
                        ("To", "<sip:bob@example.com>"), ("Call-ID", "x"), ("CSeq", "1 MESSAGE"),
                        ("Content-Length", "999")]:
        request.headers.add(name, value)
    request.body = "héllo".encode()
    data = request.serialize()
    assert b"Content-Length: 6\r\n\r\nh\xc3\xa9llo" in data and b"999" not in data
    assert parse_message(data).body == "héllo".encode()


@pytest.mark.parametrize("data", [
    b"", b"\r\n\r\n", b"HELLO\r\n\r\n", b"INVITE sip:x SIP/3.0\r\n\r\n",
    b"INVITE sip:x@h SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n\r\n",  # no Call-ID, CSeq, From, To
    b"SIP/2.0 abc OK\r\n\r\n",
    b"SIP/2.0 200 OK\r\nContent-Length: 10\r\n\r\nshort",
    b"SIP/2.0 200 OK\r\nno colon here\r\n\r\n",
])
def test_garbage_is_refused(data: bytes) -> None:
    with pytest.raises(SipParseError):
        parse_message(data)


def test_uris_and_addresses() -> None:
    uri = SipUri.parse("sip:+15551234:pw@[2001:db8::1]:5080;transport=udp;lr?subject=hi")
    assert (uri.user, uri.password, uri.host, uri.port) == ("+15551234", "pw", "[2001:db8::1]", 5080)
    assert uri.params == {"transport": "udp", "lr": ""} and uri.headers == "subject=hi"
    assert str(uri) == "sip:+15551234:pw@[2001:db8::1]:5080;transport=udp;lr?subject=hi"
    assert uri.address() == ("2001:db8::1", 5080)
    assert SipUri.parse("sip:pbx.example.com").address() == ("pbx.example.com", 5060)
    assert SipUri.parse("tel:+1-555-1234").user == "+1-555-1234"
    bare = NameAddr.parse("sip:bob@example.com;tag=88")
    assert bare.tag == "88" and bare.uri.params == {}  # without <>, parameters belong to the header
    assert str(NameAddr.parse('"Bob" <sip:bob@h>').with_tag("t")) == '"Bob" <sip:bob@h>;tag=t'
    via = Via.parse("SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bK776;rport")
    assert (via.transport, via.host, via.port, via.params["rport"]) == ("UDP", "192.0.2.4", 5060, "")
    with pytest.raises(SipParseError):
        SipUri.parse("mailto:bob@example.com")


def test_lists_split_outside_quotes_and_brackets() -> None:
    assert split_list('"a, b" <sip:x@h;p=1,2>, <sip:y@h>') == ['"a, b" <sip:x@h;p=1,2>', "<sip:y@h>"]


def test_digest_md5_matches_rfc_2617() -> None:
    challenge = parse_challenge('Digest realm="testrealm@host.com", qop="auth,auth-int", '
                                'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"')
    value = digest_authorization(challenge, "GET", "/dir/index.html", Credentials("Mufasa", "Circle Of Life"),
                                 cnonce="0a4f113b")
    assert 'response="6629fae49393a05397450978507c4ef1"' in value
    assert "qop=auth" in value and "nc=00000001" in value and 'opaque="5ccc069c403ebaf9f0171e9517f40e41"' in value


@pytest.mark.parametrize(("algorithm", "expected"), [
    ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
    ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
])
def test_digest_matches_rfc_7616(algorithm: str, expected: str) -> None:
    challenge = parse_challenge(f'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={algorithm}, '
                                'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
                                'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"')
    value = digest_authorization(challenge, "GET", "/dir/index.html", Credentials("Mufasa", "Circle of Life"),
                                 cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")
    assert f'response="{expected}"' in value


def test_digest_without_qop_uses_the_rfc_2069_form() -> None:
    import hashlib

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    challenge = parse_challenge('Digest realm="asterisk",nonce="abc"')
    value = digest_authorization(challenge, "REGISTER", "sip:pbx", Credentials("200", "secret"))
    expected = md5(f"{md5('200:asterisk:secret')}:abc:{md5('REGISTER:sip:pbx')}")
    assert f'response="{expected}"' in value and "qop" not in value

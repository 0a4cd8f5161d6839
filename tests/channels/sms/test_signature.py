"""X-Twilio-Signature against Twilio's own documented examples."""

from __future__ import annotations

from helpline.channels.sms.signature import twilio_signature, valid_twilio_signature

URL = "https://mycompany.com/myapp.php?foo=1&bar=2"


def _params(caller: str) -> list[tuple[str, str]]:
    return [("CallSid", "CA1234567890ABCDE"), ("Caller", caller), ("Digits", "1234"), ("From", caller),
            ("To", "+18005551212")]


def test_twilio_documented_examples() -> None:
    # Twilio's security docs (auth token 12345), two published versions of the example
    assert twilio_signature("12345", URL, _params("+14158675310")) == "GvWf1cFY/Q7PnoempGyD5oXAezc="
    assert twilio_signature("12345", URL, _params("+14158675309")) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_order_of_parameters_does_not_matter_but_every_value_does() -> None:
    params = _params("+14158675309")
    assert valid_twilio_signature("12345", URL, reversed(params), "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    changed = [*params[:-1], ("To", "+18005551213")]
    assert not valid_twilio_signature("12345", URL, changed, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert not valid_twilio_signature("54321", URL, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert not valid_twilio_signature("12345", URL + "&baz=3", params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert not valid_twilio_signature("12345", URL, params, None)
    assert not valid_twilio_signature("", URL, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


def test_the_default_port_may_be_written_or_not() -> None:
    params = _params("+14158675309")
    with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
    assert valid_twilio_signature("12345", with_port, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    signed_with_port = twilio_signature("12345", with_port, params)
    assert valid_twilio_signature("12345", URL, params, signed_with_port)
    assert not valid_twilio_signature("12345", "https://mycompany.com:8443/myapp.php?foo=1&bar=2", params,
                                      "RSOYDt4T1cUTdK1PDd93/VVr8B8=")

"""SMS settings: flags (written to HELPLINE_SMS_*) over the pack's `sms:` section; off without the token."""

from __future__ import annotations

import pytest

from helpline.channels.sms.settings import DEFAULT_API_URL, SmsSettings, SmsSettingsError
from helpline.pack.models import SmsChannelConfig

PACK = SmsChannelConfig(api_url="http://127.0.0.1:9000", account="ACpack", from_number="+15125550100")


def test_off_without_the_token() -> None:
    assert SmsSettings.resolve(PACK, env={}) is None


def test_environment_over_pack_and_twilio_by_default() -> None:
    settings = SmsSettings.resolve(PACK, env={"HELPLINE_SMS_AUTH_TOKEN": "t", "HELPLINE_SMS_ACCOUNT": "ACenv"})
    assert settings is not None
    assert (settings.account.account_sid, settings.account.api_url, settings.account.from_number) == (
        "ACenv", "http://127.0.0.1:9000", "+15125550100")
    assert settings.account.messages_url == "http://127.0.0.1:9000/2010-04-01/Accounts/ACenv/Messages.json"
    bare = SmsSettings.resolve(None, env={"HELPLINE_SMS_AUTH_TOKEN": "t", "HELPLINE_SMS_ACCOUNT": "AC1",
                                          "HELPLINE_SMS_FROM": "+15125550100"})
    assert bare is not None and bare.account.api_url == DEFAULT_API_URL and bare.max_segments == 2


def test_a_token_without_account_or_number_is_an_error_naming_them() -> None:
    with pytest.raises(SmsSettingsError, match="--sms-account and --sms-from"):
        SmsSettings.resolve(None, env={"HELPLINE_SMS_AUTH_TOKEN": "t"})

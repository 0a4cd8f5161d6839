"""Where the SMS settings come from: the --sms-* flags (which `helpline serve` writes to the environment, as
it does for SMTP), else HELPLINE_SMS_*, else `sms:` in business.yaml. The auth token only from
HELPLINE_SMS_AUTH_TOKEN: without it the channel is off (webhooks answer 503, nothing is sent)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from helpline.channels.sms.twilio import TwilioAccount
from helpline.pack.models import SmsChannelConfig

API_URL_ENV = "HELPLINE_SMS_API_URL"
ACCOUNT_ENV = "HELPLINE_SMS_ACCOUNT"
FROM_ENV = "HELPLINE_SMS_FROM"
AUTH_TOKEN_ENV = "HELPLINE_SMS_AUTH_TOKEN"
PUBLIC_URL_ENV = "HELPLINE_SMS_PUBLIC_URL"
DEFAULT_API_URL = "https://api.twilio.com"


class SmsSettingsError(ValueError):
    pass


@dataclass(frozen=True)
class SmsSettings:
    account: TwilioAccount
    public_url: str | None = None  # the base URL the provider calls (signatures, status callbacks)
    max_segments: int = 2

    @classmethod
    def resolve(cls, pack: SmsChannelConfig | None, env: Mapping[str, str] | None = None) -> SmsSettings | None:
        """The settings, or None when SMS is not configured (no auth token). A token without an account or a
        From number is a mistake worth stopping for."""
        env = os.environ if env is None else env
        pack = pack or SmsChannelConfig()
        token = env.get(AUTH_TOKEN_ENV, "").strip()
        if not token:
            return None
        account = env.get(ACCOUNT_ENV, "").strip() or pack.account or ""
        sender = env.get(FROM_ENV, "").strip() or pack.from_number or ""
        missing = [name for name, value in (("--sms-account", account), ("--sms-from", sender)) if not value]
        if missing:
            raise SmsSettingsError(f"{AUTH_TOKEN_ENV} is set but {' and '.join(missing)} is not (or sms: in "
                                   "business.yaml)")
        api_url = env.get(API_URL_ENV, "").strip() or pack.api_url or DEFAULT_API_URL
        if not api_url.startswith(("http://", "https://")):
            raise SmsSettingsError(f"--sms-api-url must start with http:// or https://, not {api_url!r}")
        public_url = env.get(PUBLIC_URL_ENV, "").strip() or pack.public_url or None
        return cls(TwilioAccount(api_url, account, token, sender), public_url, pack.max_segments)

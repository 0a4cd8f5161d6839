"""Building the SMS channel for a runtime: the provider adapter, the opt-out store, the outbox every SMS goes
through, and one-time codes by SMS beside email."""

from __future__ import annotations

from fastapi import FastAPI

from helpline.application.opt_outs import OptOuts
from helpline.application.sms_deliveries import SmsDeliveries
from helpline.application.sms_threads import SmsThreads
from helpline.channels.sms.codes import CodeSenders, SmsCodeSender
from helpline.channels.sms.outbox import SmsOutbox
from helpline.channels.sms.service import SmsChannel
from helpline.channels.sms.settings import SmsSettings
from helpline.channels.sms.twilio import TwilioSender
from helpline.conversation.ports import CodeSender
from helpline.outbound.ports import MessageSender
from helpline.outbound.surveys import SurveyReplies
from helpline.runtime import Runtime

STATUS_PATH = "/api/v1/sms/twilio/status"


def build_sms_channel(runtime: Runtime, settings: SmsSettings, provider: MessageSender | None = None) -> SmsChannel:
    """`provider` defaults to Twilio's REST API as `settings` say; status callbacks are asked for only when the
    public URL is known (else the webhook's own URL is used, see routes.py)."""
    status_url = f"{settings.public_url.rstrip('/')}{STATUS_PATH}" if settings.public_url else None
    provider = provider or TwilioSender(settings.account, status_callback=status_url)
    preferences = OptOuts(runtime.db)
    outbox = SmsOutbox(provider, preferences, SmsDeliveries(runtime.db))
    install_code_sender(runtime, SmsCodeSender(outbox, runtime.pack.business.name))
    return SmsChannel(runtime.conversations, outbox, preferences, SmsThreads(runtime.db), runtime.pack.business.name,
                      settings.max_segments, runtime.pack.business.phone_region,
                      surveys=SurveyReplies(runtime.db, runtime.conversations.clock, runtime.pack.business.name))


def install_code_sender(runtime: Runtime, sms: SmsCodeSender) -> None:
    """One-time codes by email as before, and by SMS to a phone on the customer's record. Building the channel
    again (a second app on the same runtime) replaces the SMS sender rather than adding another."""
    current = runtime.engine.codes
    others: list[CodeSender] = (current.without(SmsCodeSender) if isinstance(current, CodeSenders)
                                else [current] if current is not None else [])
    runtime.engine.codes = CodeSenders((*others, sms))


def install_sms(app: FastAPI, runtime: Runtime, settings: SmsSettings | None = None,
                provider: MessageSender | None = None) -> SmsChannel | None:
    """Turn the SMS webhooks on for `app` (settings from the environment and the pack unless given); off when
    there is no auth token."""
    settings = settings or SmsSettings.resolve(runtime.pack.business.sms)
    channel = build_sms_channel(runtime, settings, provider) if settings is not None else None
    app.state.sms, app.state.sms_settings = channel, settings
    return channel

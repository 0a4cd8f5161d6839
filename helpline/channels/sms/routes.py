"""The SMS webhooks.

- `POST /api/v1/sms/twilio`: Twilio's inbound message webhook (form-encoded, `X-Twilio-Signature`). Answered
  at once with empty TwiML; the reply goes out through the REST API after the response (Twilio waits at most
  15 s for a webhook, a turn and a send with retries may take longer).
- `POST /api/v1/sms/twilio/status`: Twilio's delivery status callbacks, signed the same way.
- `POST /api/v1/sms/inbound`: a generic JSON webhook for any other gateway, authenticated with an API key
  (integration role and up); the reply is returned in the response for the gateway to send, not sent.

A missing signature is 401 and a wrong one 403, before anything is read into the conversation; both count
against the address like a wrong API key (api/auth.py's FailureGate: only failures touch the shared counter,
a signed request costs no round trip), and an address over that limit gets 429 before its form is read. SMS
not configured: 503. No input gives a 500.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, NoReturn

from fastapi import APIRouter, BackgroundTasks, Depends, FastAPI, HTTPException, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from helpline.api.auth import (
    FailureGate,
    Principal,
    client_address,
    failure_gate,
    require_role,
    too_many_failures,
)
from helpline.api.errors import AUTHENTICATED_ERRORS, SIGNED_WEBHOOK_ERRORS, error_responses
from helpline.api.validation import NO_NUL, ApiModel
from helpline.channels.sms.keywords import Keyword
from helpline.channels.sms.service import MAX_SMS_CHARS, InboundSms, InvalidSms, ReplyKind, SmsChannel
from helpline.channels.sms.settings import SmsSettings
from helpline.channels.sms.signature import valid_twilio_signature
from helpline.channels.sms.staff import SmsStaffRelay
from helpline.outbound.ports import MessagePurpose, OutboundChannel

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
MAX_FIELD_CHARS = 4000  # more than any Twilio field; a form value past it is not Twilio's


class GenericSms(ApiModel):
    sender: str = Field(alias="from", min_length=1, max_length=32, pattern=NO_NUL, examples=["+15125550147"])
    text: str = Field(default="", max_length=MAX_SMS_CHARS, pattern=NO_NUL, examples=["Where is my order?"])
    to: str = Field(default="", max_length=32, pattern=NO_NUL)


class SmsReplyOut(BaseModel):
    text: str
    encoding: str = Field(examples=["GSM-7"])
    segments: int


class GenericSmsOut(BaseModel):
    conversation_id: str | None
    keyword: Keyword | None = Field(description="opt_out, opt_in or help when the text was a carrier keyword")
    send: bool = Field(description="false when the number has opted out: do not send `reply`")
    reply: SmsReplyOut | None


def _channel(request: Request) -> tuple[SmsChannel, SmsSettings]:
    channel: SmsChannel | None = getattr(request.app.state, "sms", None)
    settings: SmsSettings | None = getattr(request.app.state, "sms_settings", None)
    if channel is None or settings is None:
        raise HTTPException(503, "SMS is not configured (HELPLINE_SMS_AUTH_TOKEN, --sms-account, --sms-from)")
    return channel, settings


def signed_url(request: Request, settings: SmsSettings) -> str:
    """The URL Twilio called: the configured public URL's scheme and host (behind a proxy), else this request's."""
    if not settings.public_url:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{settings.public_url.rstrip('/')}{request.url.path}{query}"


async def _refuse(gate: FailureGate, address: str, status: int, detail: str) -> NoReturn:
    """Count the failure where every node sees it: 429 if the address was already over the limit, else
    ``status`` (401 no signature, 403 a wrong one)."""
    # a worker thread: with Redis the count is a blocking round trip, and a flood of bad signatures must not
    # stall every other request on the event loop
    wait = await run_in_threadpool(gate.failed, address)
    if wait:
        raise too_many_failures(wait, "signatures")
    raise HTTPException(status, detail)


async def _signed_form(request: Request, settings: SmsSettings) -> dict[str, str]:
    """The form's fields when the request carries Twilio's signature over them; else 401 (none) or 403 (wrong),
    429 while the address has failed too often, 400 if unreadable."""
    # The API keys' gate (api/auth.py): a signed request costs no round trip to the shared counter; only a
    # failure is counted there, and an address this node saw held off is refused without asking again.
    gate, address = failure_gate(request), client_address(request)
    wait = gate.held_off(address)
    if wait:
        raise too_many_failures(wait, "signatures")
    signature = request.headers.get(SIGNATURE_HEADER)
    if not signature:
        await _refuse(gate, address, 401, f"missing {SIGNATURE_HEADER}")
    try:
        form = await request.form()
    except Exception as exc:  # the multipart/urlencoded parser's own errors have no common base
        raise HTTPException(400, "the body is not a readable form") from exc
    items = form.multi_items()
    if any(isinstance(value, UploadFile) for _, value in items):
        raise HTTPException(400, "files are not accepted")
    pairs = [(name, str(value)) for name, value in items]
    if not valid_twilio_signature(settings.account.auth_token, signed_url(request, settings), pairs, signature):
        await _refuse(gate, address, 403, f"invalid {SIGNATURE_HEADER}")
    if any(len(value) > MAX_FIELD_CHARS for _, value in pairs):
        raise HTTPException(400, "a form field is too long")
    return dict(pairs)


def _twiml() -> Response:
    return Response(EMPTY_TWIML, media_type="application/xml")


Caller = Annotated[Principal, Depends(require_role("admin", "supervisor", "integration"))]


@asynccontextmanager
async def _staff_lines(app: FastAPI) -> AsyncIterator[None]:
    """With SMS on, console replies and the agent's unprompted lines are texted while the app runs (staff.py)."""
    channel: SmsChannel | None = getattr(app.state, "sms", None)
    relay = SmsStaffRelay(channel) if channel is not None else None
    app.state.sms_relay = relay
    if relay is not None:
        relay.start()
    try:
        yield
    finally:
        if relay is not None:
            await relay.stop()


def sms_router() -> APIRouter:
    router = APIRouter(prefix="/sms", tags=["sms"], lifespan=_staff_lines)

    @router.post("/twilio", summary="Twilio inbound SMS webhook", response_class=Response,
                 responses={200: {"content": {"application/xml": {}}}, **error_responses(*SIGNED_WEBHOOK_ERRORS)})
    async def twilio_inbound(request: Request, background: BackgroundTasks) -> Response:
        channel, settings = _channel(request)
        form = await _signed_form(request, settings)
        message = InboundSms(sender=form.get("From", ""), body=form.get("Body", ""), to=form.get("To", ""),
                             provider_id=form.get("MessageSid") or None)
        try:
            outcome = await run_in_threadpool(channel.receive, message)
        except InvalidSms as exc:
            raise HTTPException(400, str(exc)) from exc
        background.add_task(channel.deliver, outcome)
        return _twiml()

    @router.post("/twilio/status", summary="Twilio delivery status callback", status_code=204,
                 response_class=Response, responses=error_responses(*SIGNED_WEBHOOK_ERRORS))
    async def twilio_status(request: Request) -> Response:
        channel, settings = _channel(request)
        form = await _signed_form(request, settings)
        sid = form.get("MessageSid") or form.get("SmsSid") or ""
        status = form.get("MessageStatus") or form.get("SmsStatus") or ""
        if not sid.strip() or not status.strip():
            raise HTTPException(400, "MessageSid and MessageStatus are required")
        known = await run_in_threadpool(channel.status_update, sid.strip()[:64], status, form.get("ErrorCode"))
        if not known:
            log.info("status callback for a message that is not ours (%s)", sid[:64])
        return Response(status_code=204)

    @router.post("/inbound", summary="Generic JSON SMS webhook", response_model=GenericSmsOut,
                 responses=error_responses(*AUTHENTICATED_ERRORS, 413, 503))
    def generic_inbound(body: GenericSms, request: Request, caller: Caller) -> GenericSmsOut:
        channel, _ = _channel(request)
        try:
            outcome = channel.receive(InboundSms(sender=body.sender, body=body.text, to=body.to))
        except InvalidSms as exc:
            raise HTTPException(400, str(exc)) from exc
        send = outcome.kind is ReplyKind.KEYWORD or channel.preferences.allows(
            OutboundChannel.SMS, outcome.phone, MessagePurpose.REPLY)
        reply = (SmsReplyOut(text=outcome.reply.text, encoding=outcome.reply.encoding.value,
                             segments=outcome.reply.segments) if outcome.reply is not None else None)
        return GenericSmsOut(conversation_id=outcome.conversation_id, keyword=outcome.keyword,
                             send=send and reply is not None, reply=reply)

    return router


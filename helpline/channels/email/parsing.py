"""Reading one inbound email: who wrote it, how it threads, what is new in it, what came attached.

What reaches the engine is only what the customer wrote this time: HTML becomes text (inscriptis), then the
quoted earlier messages, the "On … wrote:" headers, signatures and disclaimers are cut by mail-parser-reply
(docs/channels-email-sms.md says why these two). Attachments are kept as bytes for the attachment store; none
is ever opened here.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr

from inscriptis import get_text
from mailparser_reply import EmailReplyParser

MAX_TEXT_CHARS = 20_000  # what the engine reads of one email (the rest is quoted history or a pasted log)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_QUOTED_LINE = re.compile(r"^\s*>")
_BLANK_RUNS = re.compile(r"\n{3,}")
REPLY_LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pl", "da", "sv")


class UnreadableEmail(ValueError):
    """Not an email we can read (no sender address, not RFC 5322)."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class InboundEmail:
    message_id: str  # "<…>"; a stable one made from the content when the sender gave none
    sender: str  # the From address, lower-case
    sender_name: str  # the From display name ("" when none)
    to: tuple[str, ...]
    subject: str
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    text: str  # only what is new in this email, as plain text
    attachments: tuple[Attachment, ...]
    headers: dict[str, str]  # lower-case name -> value, for the loop and noise checks
    is_delivery_report: bool = False  # a DSN (multipart/report; report-type=delivery-status)
    reported_message_ids: tuple[str, ...] = ()  # a DSN's original Message-ID(s)

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """Message-IDs this email answers, nearest first: In-Reply-To, then References newest to oldest."""
        return tuple(dict.fromkeys((*self.in_reply_to, *reversed(self.references))))


def message_ids(value: str | None) -> tuple[str, ...]:
    return tuple(_MESSAGE_ID.findall(value or ""))


def html_to_text(html: str) -> str:
    return get_text(html).strip()


def latest_reply(text: str) -> str:
    """The part of a body the writer wrote now: no quoted history, no signature, no disclaimer."""
    text = text.replace("\r\n", "\n")
    parsed = EmailReplyParser(languages=list(REPLY_LANGUAGES)).read(text)
    body = parsed.replies[0].body if parsed.replies else text
    # ">"-quoted lines that the reply parser kept (a client that quotes without an "On … wrote:" line)
    kept = [line for line in body.split("\n") if not _QUOTED_LINE.match(line)]
    return _BLANK_RUNS.sub("\n\n", "\n".join(kept)).strip()


def _body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    if not isinstance(content, str):
        return ""
    return html_to_text(content) if part.get_content_type() == "text/html" else content


def _attachments(message: EmailMessage) -> tuple[Attachment, ...]:
    found = []
    for part in message.iter_attachments():
        if part.get_content_maintype() == "multipart":
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        found.append(Attachment(part.get_filename() or "attachment", part.get_content_type(), payload))
    return tuple(found)


def _reported_ids(message: EmailMessage) -> tuple[str, ...]:
    """The Message-ID of the email a delivery report is about (its returned headers or message part)."""
    ids: list[str] = []
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            inner_message = inner[0] if isinstance(inner, list) and inner else None
            if isinstance(inner_message, Message):
                ids += message_ids(inner_message.get("Message-ID"))
        elif kind == "text/rfc822-headers":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                headers = message_from_bytes(payload, policy=policy.default)
                ids += message_ids(str(headers.get("Message-ID", "")))
    return tuple(dict.fromkeys(ids))


def _address(value: str) -> tuple[str, str]:
    name, address = parseaddr(value)
    address = address.strip().lower()
    if "@" not in address or " " in address:
        raise UnreadableEmail("the email has no sender address")
    try:
        Address(addr_spec=address)
    except (ValueError, IndexError) as exc:
        raise UnreadableEmail(f"the sender address is not valid: {exc}") from exc
    return name.strip(), address


def parse_email(raw: bytes) -> InboundEmail:
    """Read an RFC 5322 message; UnreadableEmail when it has no usable sender."""
    message = message_from_bytes(raw, policy=policy.default)
    if not isinstance(message, EmailMessage):  # policy.default always builds EmailMessage
        raise UnreadableEmail("not an email")
    headers = {name.lower(): str(value) for name, value in message.items()}
    name, sender = _address(headers.get("from", ""))
    message_id = (message_ids(headers.get("message-id")) or (f"<{hashlib.sha256(raw).hexdigest()[:32]}@no-id>",))[0]
    is_report = (message.get_content_type() == "multipart/report"
                 and str(message.get_param("report-type", "")).lower() == "delivery-status")
    text = latest_reply(_body_text(message))[:MAX_TEXT_CHARS]
    return InboundEmail(
        message_id=message_id,
        sender=sender,
        sender_name=name,
        to=tuple(address.lower() for _, address in getaddresses([headers.get("to", ""), headers.get("cc", "")])
                 if address),
        subject=" ".join(headers.get("subject", "").split()),
        in_reply_to=message_ids(headers.get("in-reply-to")),
        references=message_ids(headers.get("references")),
        text=text,
        attachments=() if is_report else _attachments(message),
        headers=headers,
        is_delivery_report=is_report,
        reported_message_ids=_reported_ids(message) if is_report else (),
    )

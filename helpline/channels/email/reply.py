"""The one reply to an email: greeting, the answers to each request in it, closing and signature, as plain
text and as HTML, from a template the pack may replace (`templates/email_reply.j2` in the pack).

The engine talks like a chat ("Is there anything else I can help you with?" after each answer); in an email
that question is asked once, at the end, and a line said twice (a verification question repeated after a
side answer) is kept once, where it was said last.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpline.application.email_threads import TICKET_REFERENCE
from helpline.pack.expressions import render
from helpline.pack.loader import BusinessPack

TEMPLATE_NAME = "email_reply"
DEFAULT_TEMPLATE = """\
{% if customer_name %}Hi {{ customer_name }},{% else %}Hello,{% endif %}

Thank you for your email.

{% for answer in answers %}{{ answer }}

{% endfor %}{% if person_will_reply %}A member of our team has your message and will reply to this email.

{% endif %}If you need anything else, just reply to this email{% if ticket_number %} - your reference is \
#{{ ticket_number }}{% endif %}.

Best wishes,
{{ persona.name }}
{{ business.name }} customer care
"""
_URL = re.compile(r"https?://[^\s<>\"]+")


@dataclass(frozen=True)
class ComposedReply:
    subject: str
    text: str
    html: str


def reply_subject(subject: str, ticket_number: int | None) -> str:
    subject = subject.strip() or "Your message"
    if not re.match(r"^\s*re\s*:", subject, re.I):
        subject = f"Re: {subject}"
    if ticket_number is not None and not TICKET_REFERENCE.search(subject):
        subject = f"{subject} [#{ticket_number}]"
    return subject


def first_name(display_name: str) -> str:
    """"Julia Campbell" -> "Julia"; "Campbell, Julia" -> "Julia"; "" or an address -> ""."""
    name = display_name.strip().strip('"')
    if not name or "@" in name:
        return ""
    if "," in name:
        name = name.split(",", 1)[1]
    word = name.split()[0] if name.split() else ""
    return word if word[:1].isalpha() else ""


def text_to_html(text: str) -> str:
    """Paragraphs of escaped text, links made clickable; nothing from the customer is ever raw HTML."""
    blocks = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        escaped = html.escape(paragraph)
        linked = _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
        blocks.append("<p>" + linked.replace("\n", "<br>\n") + "</p>")
    return ("<!doctype html>\n<html><body style=\"font-family: sans-serif; line-height: 1.4\">\n"
            + "\n".join(blocks) + "\n</body></html>\n")


def join_answers(segments: Sequence[Sequence[str]], ask_once: Collection[str]) -> list[str]:
    """One paragraph per request; repeated lines kept where said last; `ask_once` lines moved to the end."""
    lines = [(index, line.strip()) for index, replies in enumerate(segments) for line in replies if line.strip()]
    last_said = {line: position for position, (_, line) in enumerate(lines)}
    trailing = [line for _, line in lines if line in ask_once]
    paragraphs: dict[int, list[str]] = {}
    for position, (index, line) in enumerate(lines):
        if last_said[line] != position or line in ask_once:
            continue
        paragraphs.setdefault(index, []).append(line)
    answers = [" ".join(parts) for _, parts in sorted(paragraphs.items())]
    if trailing:
        answers.append(trailing[-1])
    return answers


class ReplyComposer:
    def __init__(self, pack: BusinessPack, ask_once: Collection[str] = ()):
        self.pack = pack
        self.ask_once = frozenset(ask_once)
        own = pack.email_templates.get(TEMPLATE_NAME) or self._pack_file(pack.root)
        self.template = own or DEFAULT_TEMPLATE
        self.compose([["check"]], "", None, "check")  # a broken pack template fails at start-up, not on a customer

    @staticmethod
    def _pack_file(root: Path) -> str | None:
        path = root / "templates" / f"{TEMPLATE_NAME}.j2"
        return path.read_text(encoding="utf-8") if path.is_file() else None

    def compose(self, segments: Sequence[Sequence[str]], customer_name: str, ticket_number: int | None,
                subject: str, person_will_reply: bool = False) -> ComposedReply:
        names: dict[str, Any] = {
            "business": {"name": self.pack.business.name},
            "persona": self.pack.business.persona.model_dump(),
            "customer_name": customer_name,
            "answers": join_answers(segments, self.ask_once),
            "ticket_number": ticket_number,
            "person_will_reply": person_will_reply,
        }
        text = re.sub(r"\n{3,}", "\n\n", render(self.template, names)).strip() + "\n"
        return ComposedReply(reply_subject(subject, ticket_number), text, text_to_html(text))

    def compose_staff(self, text: str, subject: str, ticket_number: int | None) -> ComposedReply:
        """A person's reply from the console, sent as they wrote it."""
        body = text.strip() + "\n"
        return ComposedReply(reply_subject(subject, ticket_number), body, text_to_html(body))

"""Follow-up writing from templates: recap, apology-and-plan, survey, outage notice and callback reminder, by
email (subject, plain text and an HTML alternative) or SMS (text only).

A template is the pack's ``templates/<name>.j2`` when it has one, else Helpline's default beside this file
(``tickets/templates``). Templates run in the pack's sandboxed expression language with the contact's facts
(``outbound/writers.py`` gathers them): ``greeting``, ``problem``, ``done``, ``plan.sentence``, ``reference``,
``reach_us``, ``closing``, ``customer``, ``persona``, ``business``, ``incident``, ``callback``; ``ticket``,
``steps`` and ``resolution`` keep older pack templates working. An email template's first line may be
``Subject: …``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from helpline.pack.expressions import render
from helpline.pack.loader import BusinessPack

DEFAULTS_DIR = Path(__file__).resolve().parent / "templates"
BLANK_LINES = re.compile(r"\n{3,}")
TRAILING_SPACE = re.compile(r"[ \t]+\n")


class TemplateName(StrEnum):
    RECAP_EMAIL = "recap_email"
    RECAP_SMS = "recap_sms"
    APOLOGY_EMAIL = "apology_email"
    APOLOGY_SMS = "apology_sms"
    SURVEY_EMAIL = "survey_email"
    SURVEY_SMS = "survey_sms"
    OUTAGE_NOTICE = "outage_notice"  # by email (the name packs already use)
    OUTAGE_NOTICE_SMS = "outage_notice_sms"
    CALLBACK_REMINDER_EMAIL = "callback_reminder_email"
    CALLBACK_REMINDER_SMS = "callback_reminder_sms"


@dataclass(frozen=True)
class RenderedMessage:
    subject: str | None  # email only
    text: str
    html: str | None  # email only: the HTML alternative of ``text``


@dataclass(frozen=True)
class Email:
    subject: str
    body: str
    html: str = ""


def default_source(name: TemplateName | str) -> str:
    return (DEFAULTS_DIR / f"{TemplateName(name)}.j2").read_text(encoding="utf-8")


def template_source(pack: BusinessPack, name: TemplateName | str, language: str = "") -> str:
    """The pack's own template for ``name`` when it has one, else Helpline's default. With ``language`` (the
    conversation's), the pack's ``templates/<name>.<language>.j2`` comes first when it has one."""
    name = TemplateName(name)
    if language and f"{name}.{language}" in pack.email_templates:
        return pack.email_templates[f"{name}.{language}"]
    if name in pack.email_templates:
        return pack.email_templates[name]
    own = pack.root / "templates" / f"{name}.j2"
    return own.read_text(encoding="utf-8") if own.is_file() else default_source(name)


def tidy(text: str) -> str:
    """Template control lines leave blank runs and trailing spaces behind: one blank line at most."""
    return BLANK_LINES.sub("\n\n", TRAILING_SPACE.sub("\n", text)).strip()


def text_to_html(text: str) -> str:
    """The HTML alternative of a plain-text email: paragraphs, "- " lines as a list, everything escaped."""
    blocks: list[str] = []
    for block in text.split("\n\n"):
        lines = block.split("\n")
        items = [line[2:] for line in lines if line.startswith("- ")]
        intro = [line for line in lines if not line.startswith("- ")]
        if intro:
            blocks.append("<p>" + "<br>\n".join(html.escape(line) for line in intro) + "</p>")
        if items:
            blocks.append("<ul>\n" + "\n".join(f"<li>{html.escape(item)}</li>" for item in items) + "\n</ul>")
    return ('<!doctype html>\n<html><body style="font-family: sans-serif; line-height: 1.5">\n'
            + "\n".join(blocks) + "\n</body></html>")


def render_message(pack: BusinessPack, name: TemplateName | str, names: dict[str, Any], *,
                   email: bool, language: str = "") -> RenderedMessage:
    """Render one template with ``names``; an email gets its subject line split off and an HTML part.
    ``language``: the conversation's, for the pack's template in it when there is one."""
    text = tidy(render(template_source(pack, name, language), names))
    if not email:
        return RenderedMessage(subject=None, text=" ".join(text.split()), html=None)
    first, _, rest = text.partition("\n")
    if first.lower().startswith("subject:"):
        subject, body = first.split(":", 1)[1].strip(), rest.strip()
    else:
        subject, body = pack.business.name, text
    return RenderedMessage(subject=subject, text=body, html=text_to_html(body))


def render_email(pack: BusinessPack, template: str, facts: dict[str, Any]) -> Email:
    """Render an email template with ``facts`` as given (older callers; ``outbound/writers.py`` supplies the
    full set of names)."""
    names: dict[str, Any] = {
        "business": {"name": pack.business.name},
        "persona": pack.business.persona.model_dump(),
        "customer": {},
        "steps": [],
        "done": [],
        "resolution": "",
        "greeting": "Hello,",
        "closing": "Warm regards,",
        "reach_us": "",
        **facts,
    }
    ticket = facts.get("ticket") or {}
    names.setdefault("reference", ticket.get("number", ""))
    names.setdefault("problem", ticket.get("summary", ""))
    rendered = render_message(pack, template, names, email=True)
    return Email(subject=rendered.subject or pack.business.name, body=rendered.text, html=rendered.html or "")

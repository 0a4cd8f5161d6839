"""Follow-up writing from the pack's templates: recap, apology-and-plan, outage notice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from helpline.pack.expressions import render
from helpline.pack.loader import BusinessPack

DEFAULT_TEMPLATES = {
    "recap_email": (
        "Subject: Your {{ business.name }} request {{ ticket.number }}\n\n"
        "Hi {{ customer.name or 'there' }},\n\nHere is a summary of your request: {{ ticket.summary }}.\n"
        "{% for step in steps %}- {{ step }}\n{% endfor %}\nOutcome: {{ resolution or 'in progress' }}\n\n"
        "{{ persona.name }}, {{ business.name }}"
    ),
    "apology_email": (
        "Subject: We're sorry - {{ business.name }} request {{ ticket.number }}\n\n"
        "Hi {{ customer.name or 'there' }},\n\nWe're sorry about {{ ticket.summary }}. "
        "Next step: {{ ticket.next_step or 'our team will contact you' }}.\n\n{{ persona.name }}, {{ business.name }}"
    ),
    "outage_notice": (
        "Subject: {{ incident.title }}\n\n{{ incident.message }}\n"
        "{% if incident.expected_fix %}Expected fix: {{ incident.expected_fix }}\n{% endif %}\n{{ business.name }}"
    ),
}


@dataclass(frozen=True)
class Email:
    subject: str
    body: str


def render_email(pack: BusinessPack, template: str, facts: dict[str, Any]) -> Email:
    """Render one of the pack's email templates (or the default) with the conversation's facts."""
    source = pack.email_templates.get(template) or DEFAULT_TEMPLATES[template]
    names: dict[str, Any] = {
        "business": {"name": pack.business.name},
        "persona": pack.business.persona.model_dump(),
        "customer": {},
        "steps": [],
        "resolution": "",
        **facts,
    }
    text = render(source, names)
    first, _, rest = text.partition("\n")
    if first.lower().startswith("subject:"):
        return Email(subject=first.split(":", 1)[1].strip(), body=rest.strip())
    return Email(subject=f"{pack.business.name}", body=text.strip())

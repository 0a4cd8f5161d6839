"""Writes each message Helpline sends on its own from a contact's facts: greeting, body, closing, signature,
the reference and how to reach us, by email or SMS. A message with nowhere to go is a draft that says why."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from helpline.outbound.facts import ContactFacts, Plan, first_name_of, local_time
from helpline.outbound.ports import MessagePurpose, OutboundChannel, OutboundMessage
from helpline.outbound.surveys import SURVEY_HEADER, Scale, nps_question
from helpline.pack.loader import BusinessPack
from helpline.pack.models import OutboundConfig
from helpline.store.models import Incident
from helpline.tickets.emails import RenderedMessage, TemplateName, render_message

NO_ADDRESS = "no email address or phone number on file"
CLOSINGS = {"warm": "Warm regards,", "formal": "Kind regards,", "concise": "Thanks,"}
TEMPLATES: dict[tuple[MessagePurpose, OutboundChannel], TemplateName] = {
    (MessagePurpose.RECAP, OutboundChannel.EMAIL): TemplateName.RECAP_EMAIL,
    (MessagePurpose.RECAP, OutboundChannel.SMS): TemplateName.RECAP_SMS,
    (MessagePurpose.APOLOGY, OutboundChannel.EMAIL): TemplateName.APOLOGY_EMAIL,
    (MessagePurpose.APOLOGY, OutboundChannel.SMS): TemplateName.APOLOGY_SMS,
    (MessagePurpose.SURVEY, OutboundChannel.EMAIL): TemplateName.SURVEY_EMAIL,
    (MessagePurpose.SURVEY, OutboundChannel.SMS): TemplateName.SURVEY_SMS,
    (MessagePurpose.OUTAGE_NOTICE, OutboundChannel.EMAIL): TemplateName.OUTAGE_NOTICE,
    (MessagePurpose.OUTAGE_NOTICE, OutboundChannel.SMS): TemplateName.OUTAGE_NOTICE_SMS,
    (MessagePurpose.CALLBACK_REMINDER, OutboundChannel.EMAIL): TemplateName.CALLBACK_REMINDER_EMAIL,
    (MessagePurpose.CALLBACK_REMINDER, OutboundChannel.SMS): TemplateName.CALLBACK_REMINDER_SMS,
}


@dataclass(frozen=True)
class Recipient:
    """Someone a message goes to: from a ticket's facts, or a customer in the business's records (outage
    notices)."""

    name: str | None
    email: str | None
    phone: str | None
    customer_id: str | None = None  # Helpline's customer, when known
    key: str = ""  # stable id for de-duplication (the business record's id)


@dataclass(frozen=True)
class IncidentFacts:
    id: str
    title: str
    message: str
    expected_fix: str | None
    scope: Mapping[str, Sequence[str]] = field(default_factory=dict)  # attribute -> allowed values; {} = all
    affected: tuple[str, ...] = ()  # topics (procedures, tags), for incidents with no scope

    @classmethod
    def of(cls, incident: Incident) -> IncidentFacts:
        return cls(incident.id, incident.title, incident.message, incident.expected_fix,
                   dict(getattr(incident, "scope", None) or {}), tuple(incident.affected or ()))


@dataclass(frozen=True)
class CallbackFacts:
    id: str
    due_at: datetime
    phone: str | None


@dataclass(frozen=True)
class Draft:
    """A written message, or why it cannot be sent (``unsendable``)."""

    purpose: MessagePurpose
    channel: OutboundChannel | None
    to: str | None
    rendered: RenderedMessage | None
    dedupe_key: str
    conversation_id: str | None = None
    ticket_id: str | None = None
    ticket_number: int | None = None
    customer_id: str | None = None
    unsendable: str | None = None
    # kept with the queued message on any channel (a survey's SURVEY_HEADER: what it asked)
    headers: Mapping[str, str] = field(default_factory=dict)

    def message(self) -> OutboundMessage:
        """The port's message (a draft with no address becomes an email to nobody, kept only as a record)."""
        rendered = self.rendered or RenderedMessage(subject=None, text="", html=None)
        email = {"Auto-Submitted": "auto-generated"} if self.channel == OutboundChannel.EMAIL else {}
        return OutboundMessage(
            channel=self.channel or OutboundChannel.EMAIL, to=self.to or "", text=rendered.text, purpose=self.purpose,
            subject=rendered.subject, html=rendered.html, headers={**email, **self.headers},
            conversation_id=self.conversation_id, ticket_number=self.ticket_number,
        )


def choose_channel(preferred: OutboundChannel, email: str | None, phone: str | None) -> tuple[
        OutboundChannel, str] | None:
    """The preferred channel if we have its address, else the other one, else None."""
    addresses = {OutboundChannel.EMAIL: email, OutboundChannel.SMS: phone}
    for channel in (preferred, *(c for c in OutboundChannel if c != preferred)):
        address = addresses[channel]
        if address:
            return channel, address
    return None


class Writer:
    """Writes the five kinds of message for one pack (its templates, persona, settings and time zone)."""

    def __init__(self, pack: BusinessPack) -> None:
        self.pack = pack

    @property
    def settings(self) -> OutboundConfig:
        return self.pack.business.outbound

    # --- the kinds ---------------------------------------------------------------------------------

    def recap(self, facts: ContactFacts) -> Draft:
        return self._about_contact(MessagePurpose.RECAP, facts, OutboundChannel.EMAIL)

    def apology(self, facts: ContactFacts) -> Draft:
        return self._about_contact(MessagePurpose.APOLOGY, facts, OutboundChannel.EMAIL)

    def survey(self, facts: ContactFacts) -> Draft:
        """Asks the first of the pack's survey questions the contact has no answer to (CSAT, then NPS for
        "both"); the message records what the pack asks, so the reply is read on the scale asked."""
        asks = self.settings.survey_asks
        first = Scale.NPS if asks == "nps" or (asks == "both" and facts.csat is not None) else Scale.CSAT
        extra = {"survey": {"scale": str(first), "asks": asks, "nps_question": nps_question(self.pack.business.name)}}
        return self._about_contact(MessagePurpose.SURVEY, facts, OutboundChannel(self.settings.survey_channel),
                                   extra=extra, headers={SURVEY_HEADER: asks})

    def callback_reminder(self, facts: ContactFacts, callback: CallbackFacts) -> Draft:
        owner = facts.plan.owner if facts.plan else f"the {self.pack.business.name} team"
        extra = {"callback": {"due_text": local_time(callback.due_at, self.pack), "phone": callback.phone or "",
                              "owner": owner}}
        phone = callback.phone or facts.phone
        preferred = OutboundChannel.SMS if phone else OutboundChannel.EMAIL
        return self._about_contact(MessagePurpose.CALLBACK_REMINDER, facts, preferred, extra=extra,
                                   dedupe_key=f"{MessagePurpose.CALLBACK_REMINDER}:{callback.id}", phone=phone)

    def outage_notice(self, incident: IncidentFacts, recipient: Recipient) -> Draft:
        purpose = MessagePurpose.OUTAGE_NOTICE
        chosen = choose_channel(OutboundChannel.EMAIL, recipient.email, recipient.phone)
        key = f"{purpose}:{incident.id}:{recipient.key or recipient.email or recipient.phone}"
        if chosen is None:
            return Draft(purpose, None, None, None, key, customer_id=recipient.customer_id, unsendable=NO_ADDRESS)
        channel, address = chosen
        names = self._names(recipient.name, channel, reference=None)
        names["incident"] = {"id": incident.id, "title": incident.title, "message": incident.message,
                             "expected_fix": incident.expected_fix or ""}
        rendered = render_message(self.pack, TEMPLATES[purpose, channel], names, email=channel == OutboundChannel.EMAIL)
        return Draft(purpose, channel, address, rendered, key, customer_id=recipient.customer_id)

    # --- shared ------------------------------------------------------------------------------------

    def _about_contact(self, purpose: MessagePurpose, facts: ContactFacts, preferred: OutboundChannel, *,
                       extra: dict[str, Any] | None = None, dedupe_key: str | None = None,
                       phone: str | None = None, headers: Mapping[str, str] | None = None) -> Draft:
        key = dedupe_key or f"{purpose}:{facts.ticket_id}"
        chosen = choose_channel(preferred, facts.email, phone or facts.phone)
        if chosen is None:
            return Draft(purpose, None, None, None, key, facts.conversation_id, facts.ticket_id, facts.reference,
                         facts.customer_id, unsendable=NO_ADDRESS)
        channel, address = chosen
        names = self._names(facts.customer_name, channel, reference=facts.reference)
        names.update(self._contact_names(facts))
        names.update(extra or {})
        rendered = render_message(self.pack, TEMPLATES[purpose, channel], names, email=channel == OutboundChannel.EMAIL,
                                  language=facts.language)
        return Draft(purpose, channel, address, rendered, key, facts.conversation_id, facts.ticket_id,
                     facts.reference, facts.customer_id, headers=dict(headers or {}))

    def _names(self, name: str | None, channel: OutboundChannel, reference: int | None) -> dict[str, Any]:
        persona = self.pack.business.persona
        return {
            "business": {"name": self.pack.business.name},
            "persona": persona.model_dump(),
            "customer": {"name": name or "", "first_name": first_name_of(name) or ""},
            "greeting": self.greeting(name),
            "closing": CLOSINGS.get(persona.tone, CLOSINGS["warm"]),
            "reach_us": self.reach_us(channel),
            "reference": reference or "",
        }

    def _contact_names(self, facts: ContactFacts) -> dict[str, Any]:
        plan = _plan_names(facts.plan)
        return {
            "problem": facts.problem,
            "done": list(facts.done),
            "plan": plan,
            # the names older pack templates use
            "ticket": {"number": facts.reference, "summary": facts.problem, "status": facts.status,
                       "next_step": plan["sentence"] if plan else ""},
            "steps": list(facts.done),
            "resolution": " ".join(facts.done),
        }

    def greeting(self, name: str | None) -> str:
        """"Hi Aisha," / "Dear Aisha Patel," (formal) / "Hello," when we do not know the name."""
        if not name:
            return "Hello,"
        if self.pack.business.persona.tone == "formal":
            return f"Dear {name.strip()},"
        return f"Hi {first_name_of(name)},"

    def reach_us(self, channel: OutboundChannel) -> str:
        """How to reach us, from the pack's `outbound:` contact details."""
        ways = ["reply to this email"] if channel == OutboundChannel.EMAIL else ["reply to this text"]
        if self.settings.contact_phone:
            ways.append(f"call us on {self.settings.contact_phone}")
        if self.settings.contact_email and channel != OutboundChannel.EMAIL:
            ways.append(f"email {self.settings.contact_email}")
        if self.settings.website:
            ways.append(f"visit {self.settings.website}")
        joined = ways[0] if len(ways) == 1 else ", ".join(ways[:-1]) + " or " + ways[-1]
        return f"To reach us, {joined}."


def _plan_names(plan: Plan | None) -> dict[str, Any] | None:
    if plan is None:
        return None
    owner = plan.owner[0].upper() + plan.owner[1:]
    when = f"by {plan.due_text}" if plan.due is not None else plan.due_text
    return {"action": plan.action, "owner": plan.owner, "due_text": plan.due_text,
            "sentence": f"{owner} will {plan.action} {when}."}

"""Every contact becomes a ticket: derive the ticket's fields from the conversation's state."""

from __future__ import annotations

from dataclasses import dataclass, field

from helpline.conversation.state import ConversationState

PRIORITY_ORDER = ("low", "normal", "high", "urgent")


@dataclass(frozen=True)
class TicketFields:
    category: str
    priority: str
    summary: str
    steps_taken: list[str]
    resolution: str
    status: str  # open | resolved | escalated | awaiting_callback
    next_step: str
    tags: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    sentiment: float = 0.0


def ticket_fields(state: ConversationState, callback_booked: bool, first_message: str = "") -> TicketFields:
    requests = [r for r in state.requests if r.procedure_id != "knowledge"] or state.requests
    category = requests[0].category if requests else "general"
    priorities = [r.priority for r in state.requests] or ["normal"]
    priority = max(priorities, key=lambda p: PRIORITY_ORDER.index(p) if p in PRIORITY_ORDER else 1)
    if state.max_frustration >= 0.75 and PRIORITY_ORDER.index(priority) < 2:
        priority = "high"
    titles = "; ".join(dict.fromkeys(r.title for r in requests))
    # What was asked, in our words; the customer's own words when nothing we do matched it, or when it
    # goes to a person (the problem must survive the hand-off: "my espresso machine is leaking").
    problem = state.problem[:160]
    if not titles:
        summary = problem or first_message[:140] or "Contact with no request"
    elif state.escalated and problem:
        summary = f"{problem}; {titles}"
    else:
        summary = titles
    resolution = "; ".join(r.resolution for r in state.requests if r.resolution)
    tags: list[str] = []
    for record in state.requests:
        tags += [t for t in record.tags if t not in tags]
    outcomes = {r.outcome for r in state.requests}
    if state.escalated and callback_booked:
        status, next_step = "awaiting_callback", "Call the customer back (escalated out of hours)"
    elif state.escalated:
        status, next_step = "escalated", "A human agent takes over from the handoff summary"
    elif callback_booked or "callback" in outcomes:
        status, next_step = "awaiting_callback", "Call the customer back"
    elif state.requests and outcomes - {"withdrawn", "handed_over"} <= {"resolved"} and "resolved" in outcomes:
        status, next_step = "resolved", ""
    else:
        status, next_step = "open", "Review: the request was not resolved" if state.ended else "Conversation ongoing"
    if state.escalated and "escalated" not in tags:
        tags.append("escalated")
    return TicketFields(
        category=category,
        priority=priority,
        summary=summary,
        steps_taken=list(state.steps_taken),
        resolution=resolution,
        status=status,
        next_step=next_step,
        tags=tags,
        flags=list(state.flags),
        sentiment=round(state.max_frustration, 3),
    )

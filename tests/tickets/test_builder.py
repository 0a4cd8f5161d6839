from helpline.conversation.state import ConversationState, RequestRecord
from helpline.tickets.builder import ticket_fields


def request(outcome: str, priority: str = "normal", title: str = "Cancel an order") -> RequestRecord:
    return RequestRecord("cancel_order", title, "orders", priority, outcome, f"{title}: {outcome}", ["orders"])


def test_all_requests_resolved_gives_a_resolved_ticket() -> None:
    state = ConversationState(requests=[request("resolved")], steps_taken=["Verified identity by email"])
    fields = ticket_fields(state, callback_booked=False)
    assert fields.status == "resolved" and fields.category == "orders"
    assert fields.steps_taken == ["Verified identity by email"]
    assert fields.resolution == "Cancel an order: resolved"


def test_escalation_and_callbacks_set_the_status_and_next_step() -> None:
    escalated = ConversationState(requests=[request("escalated")], escalated=True)
    assert ticket_fields(escalated, callback_booked=False).status == "escalated"
    out_of_hours = ticket_fields(escalated, callback_booked=True)
    assert out_of_hours.status == "awaiting_callback" and "call" in out_of_hours.next_step.lower()
    assert "escalated" in out_of_hours.tags


def test_unresolved_request_stays_open_and_anger_raises_priority() -> None:
    state = ConversationState(requests=[request("unresolved"), request("resolved", "low", "Price")],
                              max_frustration=0.9, ended=True)
    fields = ticket_fields(state, callback_booked=False)
    assert fields.status == "open" and fields.priority == "high"
    assert fields.summary == "Cancel an order; Price"


def test_contact_with_no_request_summarises_the_first_message() -> None:
    fields = ticket_fields(ConversationState(), callback_booked=False, first_message="hello?")
    assert fields.summary == "hello?" and fields.status == "open"

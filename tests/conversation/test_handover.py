"""Procedures that hand over (issue 15, item 5): moving out of the service area goes on to cancelling with
the account and the reason it learned; cancelling asks for neither again, and the ticket shows both."""

from __future__ import annotations

import pytest

from helpline.tickets.builder import ticket_fields
from tests.conversation.valley_fibre import Chat


@pytest.mark.parametrize("opening", ["we're moving house next month, account VF-1001",
                                     "Hi, I'm relocating soon - what happens to my broadband? VF-1001"])
def test_moving_out_of_the_area_hands_over_to_cancelling(fibre: Chat, opening: str) -> None:
    fibre.say(opening)
    assert fibre.state.active is not None and fibre.state.active.procedure_id == "moving_home", fibre.replies
    reply = fibre.say("Oxford")
    assert "don't serve oxford" in reply.lower()
    run = fibre.state.active
    assert run is not None and run.procedure_id == "cancel_service"
    assert run.slots == {"account": "VF-1001", "reason": "moving_out"}
    assert run.awaiting == "confirm" and "why" not in reply.lower() and "account number" not in reply.lower()
    fibre.say("yes go ahead")
    assert fibre.rows("SELECT active FROM accounts WHERE id = 'VF-1001'") == [{"active": 0}]
    outcomes = [(r.procedure_id, r.outcome) for r in fibre.state.requests]
    assert outcomes == [("moving_home", "handed_over"), ("cancel_service", "resolved")]
    ticket = ticket_fields(fibre.state, callback_booked=False)
    assert "Moving home" in ticket.summary and "Cancel the service" in ticket.summary
    assert ticket.status == "resolved" and {"moving", "cancellation"} <= set(ticket.tags)
    assert any("handed over to 'Cancel the service'" in step for step in ticket.steps_taken)


def test_a_served_town_needs_no_handover(fibre: Chat) -> None:
    fibre.say("I'm moving house, account VF-1002")
    reply = fibre.say("Eastwick")
    assert "good news" in reply.lower()
    assert [r.procedure_id for r in fibre.state.requests] == ["moving_home"]
    assert fibre.rows("SELECT active FROM accounts WHERE id = 'VF-1002'") == [{"active": 1}]

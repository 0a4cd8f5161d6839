from pathlib import Path

from helpline.pack.loader import load_pack
from helpline.tickets.emails import render_email

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"


def test_recap_email_is_filled_with_the_conversation_facts() -> None:
    email = render_email(load_pack(DEMO), "recap_email", {
        "customer": {"name": "Aisha Patel"},
        "ticket": {"number": 1042, "summary": "Cancel an order"},
        "steps": ["Verified identity by email", "cancel_order done (order_id=BB-10160)"],
        "resolution": "Cancelled order BB-10160",
    })
    assert "1042" in email.subject
    assert "Aisha Patel" in email.body and "Cancelled order BB-10160" in email.body
    assert "- cancel_order done (order_id=BB-10160)" in email.body


def test_outage_notice_names_the_incident() -> None:
    email = render_email(load_pack(DEMO), "outage_notice", {
        "incident": {"title": "App login outage", "message": "Logins fail with E401.", "expected_fix": "3pm"},
    })
    assert "Logins fail with E401." in email.body

"""Email templates: the pack's own over Helpline's defaults, the subject line split off, an escaped HTML part."""

from pathlib import Path

from helpline.pack.loader import load_pack
from helpline.tickets.emails import TemplateName, default_source, render_email, template_source, text_to_html

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"


def test_recap_email_is_filled_with_the_facts_given() -> None:
    email = render_email(load_pack(DEMO), "recap_email", {
        "customer": {"name": "Aisha Patel"}, "greeting": "Hi Aisha,",
        "ticket": {"number": 1042, "summary": "Cancel an order"},
        "done": ["We cancelled order BB-10160."],
    })
    assert "1042" in email.subject
    assert email.body.startswith("Hi Aisha,") and "- We cancelled order BB-10160." in email.body
    assert "<li>We cancelled order BB-10160.</li>" in email.html


def test_outage_notice_names_the_incident() -> None:
    email = render_email(load_pack(DEMO), "outage_notice", {
        "incident": {"title": "App login outage", "message": "Logins fail with E401.", "expected_fix": "3pm"},
    })
    assert "Logins fail with E401." in email.body and "App login outage" in email.subject


def test_the_pack_template_wins_and_helpline_has_a_default_for_every_kind() -> None:
    pack = load_pack(DEMO)
    assert template_source(pack, TemplateName.RECAP_EMAIL) == (DEMO / "templates" / "recap_email.j2").read_text()
    assert template_source(pack, TemplateName.SURVEY_SMS) == default_source(TemplateName.SURVEY_SMS)
    assert all(default_source(name).strip() for name in TemplateName)


def test_the_html_part_escapes_what_the_customer_wrote() -> None:
    html = text_to_html('You told us: "<script>alert(1)</script>"\n\n- We fixed it')
    assert "<script>" not in html and "&lt;script&gt;" in html and "<li>We fixed it</li>" in html

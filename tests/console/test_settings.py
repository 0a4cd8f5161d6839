"""Settings as forms: hours, time zone, greeting with readable placeholders and escalation teams, checked by
the pack loader before saving, errors beside the field, every change audited; the advanced YAML editor."""

from __future__ import annotations

import html
import re

import pytest
import yaml

from helpline.console.settings_form import from_chips, to_chips
from helpline.store.models import AuditEntry
from tests.console.conftest import Console

Clients = dict[str, tuple[object, str]]


def _form(page: str) -> dict[str, str]:
    """What the browser would post: every input's, textarea's and selected option's value."""
    form: dict[str, str] = {}
    for tag in re.finditer(r"<input\b[^>]*>", page):
        attrs = dict(re.findall(r'(\w[\w-]*)="([^"]*)"', tag.group(0)))
        if "name" not in attrs or (attrs.get("type") == "checkbox" and " checked" not in tag.group(0)):
            continue
        form[attrs["name"]] = html.unescape(attrs.get("value", ""))
    for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S):
        form[name] = html.unescape(text)
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r"<option(?: value=\"([^\"]*)\")? selected>([^<]*)<", body)
        form[name] = html.unescape((chosen.group(1) if chosen.group(1) is not None else chosen.group(2))
                                   if chosen else "")
    return form


def _business(console: Console) -> dict[str, object]:
    loaded = yaml.safe_load((console.pack_dir / "business.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def _field_error(page: str, name: str) -> str:
    found = re.search(rf'<span class="field-error" id="err-{name}">([^<]*)</span>', page)
    return html.unescape(found.group(1)) if found else ""


def test_greeting_placeholders_read_as_words_and_convert_back() -> None:
    source = "Hi, thanks for contacting {{ business.name }}! I'm {{persona.name}}. Order {{ order_id }}?"
    shown = to_chips(source)
    assert shown.editable
    assert shown.text == "Hi, thanks for contacting {business name}! I'm {agent name}. Order {order id}?"
    assert "{" + "business name" + "}" not in source and "{{" not in shown.text
    assert from_chips(shown.text, source) == ("Hi, thanks for contacting {{ business.name }}! I'm "
                                              "{{ persona.name }}. Order {{ order_id }}?")
    with pytest.raises(ValueError, match=r"unknown placeholder \{shop\}.*\{business name\}"):
        from_chips("Welcome to {shop}", source)
    with pytest.raises(ValueError, match="not as template code"):
        from_chips("Welcome to {{ business.name }}", source)
    assert not to_chips("{% if customer %}Hi {{ customer.name }}{% endif %}").editable


def test_the_form_saves_hours_teams_and_greeting_and_audits_it(console: Console, as_role: Clients) -> None:
    client, _csrf = as_role["admin"]
    page = client.get("/console/settings").text  # type: ignore[attr-defined]
    assert "{{" not in page and "{business name}" in page  # no template code shown
    form = _form(page)
    assert form["hours_sat_open"] == "09:00" and form["hours_sun_open"] == ""
    form.update(hours_mon_open="07:00", hours_mon_close="19:00", hours_sat_open="", hours_sat_close="",
                timezone="Europe/London", persona_greeting="Hello from {business name}, this is {agent name}.",
                tier_1_phone_extension="299", tier_3_name="returns", tier_3_description="Returns desk",
                tier_3_email="returns@brightbean.example", tier_3_own_hours="1", tier_3_hours_mon_open="10:00",
                tier_3_hours_mon_close="12:00")
    for day in ("tue", "wed", "thu", "fri", "sat", "sun"):
        form[f"tier_3_hours_{day}_open"] = form[f"tier_3_hours_{day}_close"] = ""
    response = client.post("/console/settings", data=form)  # type: ignore[attr-defined]
    assert response.status_code == 303, _field_error(response.text, "")
    business = _business(console)
    assert business["opening_hours"]["mon"] == "07:00-19:00" and "sat" not in business["opening_hours"]
    assert business["timezone"] == "Europe/London"
    assert business["persona"]["greeting"] == "Hello from {{ business.name }}, this is {{ persona.name }}."
    tiers = {t["name"]: t for t in business["escalation"]["tiers"]}
    assert tiers["billing"]["phone_extension"] == "299"
    assert tiers["returns"] == {"name": "returns", "description": "Returns desk", "email": "returns@brightbean.example",
                                "opening_hours": {"mon": "10:00-12:00"}}
    assert "verification" in business and business["callback_sla"] == "4h"  # what the form doesn't show is kept
    # Applied at once: the engine greets with the new words.
    assert console.runtime.pack.business.timezone == "Europe/London"
    greeting = console.runtime.conversations.start(channel="chat").replies[0]
    assert greeting.startswith("Hello from Brightbean Coffee Co., this is Bea")
    with console.runtime.db.session() as session:
        entry = session.query(AuditEntry).filter(AuditEntry.entity == "business_settings").one()
        assert entry.actor == "console:admin@example.com"
        assert {"timezone", "opening_hours.mon", "opening_hours.sat", "persona.greeting",
                "escalation.tiers"} <= set(entry.detail["fields"])


def test_bad_values_are_refused_beside_their_field(console: Console, as_role: Clients) -> None:
    client, _csrf = as_role["admin"]
    form = _form(client.get("/console/settings").text)  # type: ignore[attr-defined]
    before = (console.pack_dir / "business.yaml").read_text()
    cases = [
        ({"hours_mon_open": "8am"}, "hours_mon_open", "time like 08:00"),
        ({"hours_mon_open": "18:00", "hours_mon_close": "08:00"}, "hours", "closes before it opens"),
        ({"persona_greeting": "Welcome to {the shop}"}, "persona_greeting", "unknown placeholder"),
        ({"tier_0_email": "not an email"}, "tier_0_email", ""),
        ({"tier_1_callback_sla": "soonish"}, "tier_1_callback_sla", "duration"),
        ({"callback_sla": "whenever"}, "callback_sla", "duration"),
        ({"timezone": "Mars/Olympus"}, "timezone", "timezone"),
        ({"default_tier": "nobody"}, "default_tier", "nobody"),
        ({"tier_0_remove": "1", "tier_1_remove": "1", "tier_2_remove": "1"}, "", ""),
    ]
    for change, field, words in cases:
        response = client.post("/console/settings", data={**form, **change})  # type: ignore[attr-defined]
        assert response.status_code == 400, change
        assert "Not saved" in response.text, change
        if field:
            assert words in _field_error(response.text, field), (change, response.text[-3000:])
    assert (console.pack_dir / "business.yaml").read_text() == before


def test_the_advanced_editor_keeps_comments_and_refuses_a_broken_pack(console: Console, as_role: Clients) -> None:
    client, _csrf = as_role["admin"]
    page = client.get("/console/settings/advanced").text  # type: ignore[attr-defined]
    text = html.unescape(re.search(r'<textarea[^>]*name="business_yaml"[^>]*>(.*?)</textarea>', page, re.S).group(1))
    csrf = _form(page)["csrf"]
    broken = client.post("/console/settings/advanced",  # type: ignore[attr-defined]
                         data={"csrf": csrf, "business_yaml": text.replace("default_tier: tier2", "default_tier: x")})
    assert broken.status_code == 400 and "default_tier" in broken.text
    for junk in ("name: [unclosed", "- just a list", "", "a: &a [x, x]\nb: [*a, *a]\n" + text):
        assert client.post("/console/settings/advanced",  # type: ignore[attr-defined]
                           data={"csrf": csrf, "business_yaml": junk}).status_code == 400
    edited = text.replace("callback_sla: 4h", "callback_sla: 2h  # promised in the shop window")
    assert client.post("/console/settings/advanced",  # type: ignore[attr-defined]
                       data={"csrf": csrf, "business_yaml": edited}).status_code == 303
    assert "2h  # promised in the shop window" in (console.pack_dir / "business.yaml").read_text()
    assert console.runtime.pack.business.callback_sla == "2h"


"""Settings → What the agent says: the pack's replies edited as plain text with readable placeholders,
checked before saving, spoken at once, comments at the top of the file kept, audited."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from helpline.store.models import AuditEntry
from tests.console.conftest import Console


def _text(page: str, key: str) -> str:
    found = re.search(rf'<textarea id="reply_{key}"[^>]*>(.*?)</textarea>', page, re.S)
    assert found, key
    return html.unescape(found.group(1))


def test_the_agents_wording_is_edited_as_text(console: Console, as_role: dict[str, tuple[TestClient, str]]) -> None:
    client, csrf = as_role["admin"]
    page = client.get("/console/settings/texts").text
    greeting = _text(page, "greeting")
    assert "{business name}" in greeting and "{{" not in greeting
    assert len(greeting.splitlines()) == 3  # the demo's three variants, one per line
    replies = console.pack_dir / "templates" / "replies.yaml"
    before = replies.read_text()

    bad = client.post("/console/settings/texts", data={"csrf": csrf, "reply_greeting": "Hi from {the shop}!"})
    assert bad.status_code == 400 and "unknown placeholder {the shop}" in html.unescape(bad.text)
    assert "Hi from {the shop}!" in html.unescape(bad.text)  # what was typed stays in the box
    assert client.post("/console/settings/texts", data={"csrf": csrf, "reply_greeting": " \n "}).status_code == 400
    assert replies.read_text() == before

    new = "Howdy, this is {agent name} at {business name}. What can I do for you?"
    saved = client.post("/console/settings/texts", data={"csrf": csrf, "reply_greeting": new,
                                                          "reply_goodbye": _text(page, "goodbye")})
    assert saved.status_code == 303
    text = replies.read_text()
    assert text.startswith("# Brightbean Coffee Co.")  # the file's opening comments are kept
    assert "Howdy, this is {{ persona.name }} at {{ business.name }}." in text
    assert console.runtime.pack.replies["greeting"] == [
        "Howdy, this is {{ persona.name }} at {{ business.name }}. What can I do for you?"]
    with console.runtime.db.session() as session:
        entry = session.query(AuditEntry).filter(AuditEntry.entity == "business_settings").one()
        assert entry.detail["fields"] == ["replies.greeting"]  # goodbye was posted unchanged
    # The demo's business.yaml sets its own greeting; without it the agent says the edited reply, at once.
    console.runtime.pack.business.persona.greeting = None
    assert console.runtime.conversations.start(channel="chat").replies[0].startswith("Howdy, this is Bea at Brightbean")

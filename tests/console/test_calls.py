"""The console's phone buttons (helpline/console/calls.py) against a recording phone desk: who may press them,
that each reaches the desk with the person's own softphone, and that every refusal is a plain message."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from helpline.cli.main import app
from helpline.console.calls import PhoneDesk
from helpline.store.db import Database
from helpline.store.repositories import ConsoleUserRepository
from tests.console.conftest import Console

Clients = dict[str, tuple[TestClient, str]]


@dataclass(frozen=True)
class State:
    person: str = ""
    monitor: str = ""
    mode: str = ""
    ringing: str = ""


@dataclass
class FakeDesk:
    """Live calls by conversation id; records what the console asked for."""

    calls: dict[str, State] = field(default_factory=dict)
    asked: list[tuple[str, ...]] = field(default_factory=list)
    refuse: str = ""

    def state(self, conversation_id: str) -> State | None:
        return self.calls.get(conversation_id)

    def take_over(self, conversation_id: str, uri: str, by: str, name: str, actor: str) -> None:
        if self.refuse:
            raise ValueError(self.refuse)
        self.asked.append(("take_over", conversation_id, uri, by))
        self.calls[conversation_id] = replace(self.calls[conversation_id], ringing=by)

    def monitor(self, conversation_id: str, uri: str, by: str, name: str, actor: str, mode: str) -> None:
        self.asked.append(("monitor", conversation_id, uri, by, mode))
        self.calls[conversation_id] = replace(self.calls[conversation_id], monitor=by, mode=mode)

    async def stop_monitoring(self, conversation_id: str) -> None:
        self.asked.append(("stop", conversation_id))
        self.calls[conversation_id] = replace(self.calls[conversation_id], monitor="", mode="")


def _desk(console: Console) -> tuple[FakeDesk, str]:
    conversation = console.runtime.conversations.start(channel="phone", actor="phone:sip")
    desk = FakeDesk({conversation.id: State()})
    checked: PhoneDesk = desk  # the fake is a PhoneDesk as the console sees one
    console.app.state.phone_desk = checked
    return desk, conversation.id


def _flash(response: object) -> str:
    location = getattr(response, "headers")["location"]  # noqa: B009 (the response type is TestClient's)
    return unquote(location.split("flash=", 1)[-1]) if "flash=" in location else ""


def test_a_supervisor_sets_their_softphone_takes_the_call_over_on_it_and_listens_in(
        console: Console, as_role: Clients) -> None:
    desk, conversation_id = _desk(console)
    client, csrf = as_role["supervisor"]
    page = client.get(f"/console/conversations/{conversation_id}")
    assert "On the phone" in page.text and "Take over on my phone" not in page.text  # no softphone yet
    refused = client.post(f"/console/conversations/{conversation_id}/phone/takeover", data={"csrf": csrf})
    assert "Set your softphone first" in _flash(refused) and desk.asked == []

    saved = client.post("/console/me/softphone", data={"csrf": csrf, "address": "sip:sup@10.0.0.7:5062",
                                                       "next": f"/console/conversations/{conversation_id}"})
    assert saved.headers["location"].startswith(f"/console/conversations/{conversation_id}")
    assert "Take over on my phone" in client.get(f"/console/conversations/{conversation_id}").text

    rung = client.post(f"/console/conversations/{conversation_id}/phone/takeover", data={"csrf": csrf})
    assert "Ringing sip:sup@10.0.0.7:5062" in _flash(rung)
    assert desk.asked == [("take_over", conversation_id, "sip:sup@10.0.0.7:5062", "supervisor@example.com")]
    assert "Ringing supervisor@example.com" in client.get(f"/console/conversations/{conversation_id}").text

    barge = client.post(f"/console/conversations/{conversation_id}/phone/monitor",
                        data={"csrf": csrf, "mode": "barge"})
    assert "the caller hears you" in _flash(barge)
    assert desk.asked[-1] == ("monitor", conversation_id, "sip:sup@10.0.0.7:5062", "supervisor@example.com",
                              "barge")
    assert "barged in" in client.get(f"/console/conversations/{conversation_id}").text
    left = client.post(f"/console/conversations/{conversation_id}/phone/stop", data={"csrf": csrf})
    assert left.status_code == 303 and desk.asked[-1] == ("stop", conversation_id)


def test_agents_cannot_ring_themselves_into_calls_and_bad_input_gets_a_message(
        console: Console, as_role: Clients) -> None:
    desk, conversation_id = _desk(console)
    agent, agent_csrf = as_role["agent"]
    assert agent.post("/console/me/softphone", data={"csrf": agent_csrf, "address": "201"}).status_code == 303
    with console.runtime.db.session() as session:
        user = ConsoleUserRepository(session).by_email("agent@example.com")
        assert user is not None and user.softphone == "201"  # an extension the PBX routes
    for action in ("takeover", "monitor", "stop"):
        response = agent.post(f"/console/conversations/{conversation_id}/phone/{action}", data={"csrf": agent_csrf})
        assert response.status_code == 403
    assert desk.asked == []

    client, csrf = as_role["supervisor"]
    bad = client.post("/console/me/softphone", data={"csrf": csrf, "address": "<script>"})
    assert bad.status_code == 303 and "softphone is a SIP address" in _flash(bad)
    client.post("/console/me/softphone", data={"csrf": csrf, "address": "sip:sup@pbx.example"})
    odd = client.post(f"/console/conversations/{conversation_id}/phone/monitor", data={"csrf": csrf, "mode": "shout"})
    assert "listen, whisper or barge" in _flash(odd) and desk.asked == []
    desk.refuse = "Eve already has this call on their phone."
    refused = client.post(f"/console/conversations/{conversation_id}/phone/takeover", data={"csrf": csrf})
    assert _flash(refused) == desk.refuse
    missing = client.post("/console/conversations/nope/phone/takeover", data={"csrf": csrf})
    assert missing.status_code == 404
    chat = console.runtime.conversations.start(channel="chat", actor="test")
    not_a_call = client.post(f"/console/conversations/{chat.id}/phone/takeover", data={"csrf": csrf})
    assert "not a live phone call" in _flash(not_a_call)
    assert "On the phone" not in client.get(f"/console/conversations/{chat.id}").text
    no_csrf = client.post(f"/console/conversations/{conversation_id}/phone/takeover", data={})
    assert no_csrf.status_code == 403


def test_the_cli_sets_and_forgets_a_users_softphone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    db = Database(url)
    db.migrate()
    with db.session() as session:
        ConsoleUserRepository(session).create(email="sam@example.com", role="supervisor", password_hash="x")
    cli = CliRunner()
    set_it = cli.invoke(app, ["user", "softphone", "sam@example.com", "sip:sam@pbx.example:5060", "--db", url])
    assert set_it.exit_code == 0, set_it.output
    assert cli.invoke(app, ["user", "softphone", "sam@example.com", "not a phone", "--db", url]).exit_code == 2
    assert cli.invoke(app, ["user", "softphone", "eve@example.com", "201", "--db", url]).exit_code == 2
    with db.session() as session:
        user = ConsoleUserRepository(session).by_email("sam@example.com")
        assert user is not None and user.softphone == "sip:sam@pbx.example:5060"
    assert cli.invoke(app, ["user", "softphone", "sam@example.com", "", "--db", url]).exit_code == 0
    with db.session() as session:
        user = ConsoleUserRepository(session).by_email("sam@example.com")
        assert user is not None and user.softphone is None
    db.dispose()

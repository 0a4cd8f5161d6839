"""Finding 3 of issue 10, end to end: secrets customers (and staff) type never reach the database, the
logs or an API response (docs/security.md, "Redaction").

Generated secrets (tests/security/generators.py: card numbers in every format, split over messages,
with expiry and code; SSNs, IBANs, passwords, PINs and CVVs) go through the real `ConversationService`
and API on the demo pack; then every text column of every table of both databases (Helpline's and
the business records), JSON decoded, every captured log line and every API response body are
scanned for their digits, however written. The bulk of the secrets goes through conversations a
person has taken over (stored without an engine turn, so thousands fit in the test's time), the
rest through full engine turns.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, inspect, text

from helpline.api.app import create_app
from helpline.runtime import Runtime
from helpline.store.repositories import ApiKeyRepository
from helpline.understanding.redaction import is_card_number
from tests.conftest import RuntimeFactory
from tests.security.generators import (
    Typed,
    card_messages,
    card_with_extras_messages,
    exposed_digits,
    iban_messages,
    password_messages,
    pin_messages,
    split_card_messages,
    ssn_messages,
)

NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
PROPERTY = settings(deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])

BULK_CONVERSATIONS = 700  # about 15 secrets each: over 10,000 in all

secret_messages = st.one_of(card_messages(), card_with_extras_messages(), ssn_messages(), iban_messages(),
                            password_messages(), pin_messages())


@dataclass
class Posted:
    """What a test sent, and everything it got back."""

    # (conversation id, secret) for every generated secret sent
    secrets: list[tuple[str, Typed]] = field(default_factory=list)
    responses: list[str] = field(default_factory=list)

    def add(self, conversation_id: str, typed: Typed) -> None:
        self.secrets.append((conversation_id, typed))

    @property
    def count(self) -> int:
        return sum(len(t.digits) + len(t.exact) for _, t in self.secrets)


# --- the scan ----------------------------------------------------------------------------------


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
        if value[:1] in "{[":
            with contextlib.suppress(ValueError):
                yield from _strings(json.loads(value))
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def stored_texts(engine: Engine) -> Iterator[tuple[str, str, str | None, str]]:
    """(table, column, conversation id if the row has one, text) for every text value in the database."""
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')).mappings():
                conversation = row.get("conversation_id") or (row.get("id") if table == "conversations" else None)
                for column, value in row.items():
                    for found in _strings(value):
                        yield table, column, conversation, found


_UUID = re.compile(r"\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b", re.I)

_TIMESTAMP = re.compile(r"\b\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")


class _Digits:
    """The digit runs of many texts (as `exposed_digits` reads them), for fast look-ups: every
    substring of the lengths asked for, and the whole runs."""

    def __init__(self, texts: Iterable[str], lengths: set[int]) -> None:
        self.whole: set[str] = set()
        self.parts: set[str] = set()
        for value in texts:
            # Ids are random hex ("62e1a654a934" would show any 3-digit code now and then) and
            # timestamps are digits: neither is where a customer's words go.
            for run in re.findall(r"\d+", exposed_digits(_TIMESTAMP.sub(" ", _UUID.sub(" ", value)))):
                self.whole.add(run)
                for n in lengths:
                    self.parts.update(run[i:i + n] for i in range(len(run) - n + 1))


def _long_secrets(typed: Typed) -> list[str]:
    """Digit strings that must appear nowhere: a card's digits before the last four (which may be
    shown), SSNs, the long digit runs of IBANs; PINs and codes are short and checked per conversation."""
    if typed.kind == "card_number":
        return [typed.digits[0][:-4]] + [d for d in typed.digits[1:] if len(d) >= 9]
    return [d for d in typed.digits if len(d) >= 9 or typed.kind == "iban"]


def _short_secrets(typed: Typed) -> list[str]:
    return [d for d in typed.digits if d not in _long_secrets(typed) and not (
        typed.kind == "card_number" and d == typed.digits[0])]


def assert_nothing_leaked(runtime: Runtime, posted: Posted, logs: str) -> None:
    """Every generated secret is absent from both databases, the logs and the API responses.

    Long secrets (cards, SSNs, IBANs, passwords) are looked for everywhere; 3-6 digit PINs and codes,
    which any timestamp could contain, in the lines and state of the conversation they were sent to."""
    sources: list[tuple[str, str | None, str]] = []
    for engine in (runtime.db.engine, runtime.operations.sql.engine if runtime.operations.sql else None):
        if engine is not None:
            sources += [(f"{table}.{column}", conversation, value)
                        for table, column, conversation, value in stored_texts(engine)]
    sources += [("log", None, line) for line in logs.splitlines()]
    sources += [("api response", None, body) for body in posted.responses]

    long_secrets = {d for _, t in posted.secrets for d in _long_secrets(t)}
    index = _Digits((value for _, _, value in sources), {len(d) for d in long_secrets})
    everything = "\n".join(value for _, _, value in sources).lower()
    leaked: list[str | tuple[str, str]] = [d for d in long_secrets if d in index.parts]
    leaked += [s for _, t in posted.secrets for s in t.exact if s.lower() in everything]
    by_conversation: dict[str | None, list[str]] = {}
    for _, conversation, value in sources:
        by_conversation.setdefault(conversation, []).append(value)
    runs_of: dict[str, set[str]] = {}
    for conversation_id, typed in posted.secrets:
        short = _short_secrets(typed)
        if short:
            if conversation_id not in runs_of:
                runs_of[conversation_id] = _Digits(by_conversation.get(conversation_id, []), set()).whole
            leaked += [(d, conversation_id) for d in short if d in runs_of[conversation_id]]
    assert not leaked, f"{len(leaked)} secrets found: {[_where(s, sources) for s in leaked[:3]]}"


def _where(secret: str | tuple[str, str], sources: list[tuple[str, str | None, str]]) -> tuple[str, list[str]]:
    """The secret and the first stored texts, log lines or responses that show it (for the failure message)."""
    digits, conversation = secret if isinstance(secret, tuple) else (secret, None)
    found = []
    for name, owner, value in sources:
        if conversation is not None and owner != conversation:
            continue
        index = _Digits([value], {len(digits)})
        shown = digits in (index.whole if conversation else index.parts)
        if shown or (not digits.isdigit() and digits.lower() in value.lower()):
            found.append(f"{name}: {value[:300]!r}")
    return digits, found[:3]


@pytest.fixture()
def runtime(make_runtime: RuntimeFactory, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    # Durability is not what is tested here; thousands of fsyncs would be most of the test's time.
    monkeypatch.setenv("HELPLINE_SQLITE_SYNCHRONOUS", "normal")
    return make_runtime(NOW)


@pytest.fixture()
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


# --- the tests ---------------------------------------------------------------------------------


def test_ten_thousand_generated_secrets_never_stored_logged_or_returned(
        runtime: Runtime, logs: pytest.LogCaptureFixture) -> None:
    """The bulk: a person has taken each conversation over, so every customer message is redacted and
    stored (with the carry of the previous messages) without an engine turn; a message holds several
    secrets; staff replies and whispers carry secrets too."""
    service = runtime.conversations
    posted = Posted()
    started = time.perf_counter()

    @settings(PROPERTY, max_examples=BULK_CONVERSATIONS)
    @given(st.lists(st.lists(secret_messages, min_size=2, max_size=4), min_size=4, max_size=5), secret_messages)
    def conversation(messages: list[list[Typed]], staff: Typed) -> None:
        view = service.start(actor="test")
        service.take_over(view.id, by="agent@example.com", display_name="Sam", actor="console:agent@example.com")
        for several in messages:
            # Letters between them, so that one secret's digits never run into the next one's.
            reply = service.post(view.id, "\nand also: ".join(t.text for t in several), actor="test")
            posted.responses.append(json.dumps(asdict(reply)))
            for typed in several:
                posted.add(view.id, typed)
        # Staff type what customers read out on the phone: replies and whispers are redacted too.
        service.human_reply(view.id, by="agent@example.com", display_name="Sam", text=staff.text,
                            actor="console:agent@example.com")
        service.whisper(view.id, by="agent@example.com", text=f"note: {staff.text}", actor="console:agent@example.com")
        posted.add(view.id, staff)

    conversation()
    elapsed = time.perf_counter() - started
    assert_nothing_leaked(runtime, posted, logs.text)
    assert posted.count >= 10_000, posted.count
    print(f"\n{posted.count} secrets in {len(posted.secrets)} typed messages, {elapsed:.1f} s")


def test_secrets_in_engine_turns_never_stored_logged_or_returned(
        runtime: Runtime, logs: pytest.LogCaptureFixture) -> None:
    """Full turns: redaction before the understander, the state, the ticket, the hand-off."""
    service = runtime.conversations
    posted = Posted()
    openers = ["I want to cancel my order", "where is my order BB-10166?", "I need to update my payment card",
               "hi", "I want to speak to a person"]

    @settings(PROPERTY, max_examples=120)
    @given(st.sampled_from(openers), st.lists(secret_messages, min_size=1, max_size=3))
    def conversation(opener: str, messages: list[Typed]) -> None:
        view = service.start(actor="test")
        service.post(view.id, opener, actor="test")
        for typed in messages:
            reply = service.post(view.id, typed.text, actor="test")
            posted.responses.append(json.dumps(asdict(reply)))
            posted.add(view.id, typed)
            if reply.ended:  # "... thanks" may close it: the next secret goes to a new conversation
                view = service.start(actor="test")
        service.end(view.id, actor="test")

    conversation()
    assert_nothing_leaked(runtime, posted, logs.text)


def test_card_numbers_split_over_messages_are_masked_where_they_were_stored(
        runtime: Runtime, logs: pytest.LogCaptureFixture) -> None:
    service = runtime.conversations
    posted = Posted()

    @settings(PROPERTY, max_examples=100)
    @given(split_card_messages(), st.booleans())
    def conversation(split: tuple[str, list[str], list[str]], person: bool) -> None:
        card, messages, pieces = split
        last_cut = len(card) - len(pieces[-1])
        if any(is_card_number(card[:end]) for end in range(13, last_cut + 1)):
            return  # a card on its own before the end: a later message can't be known to belong to it
        view = service.start(actor="test")
        if person:
            service.take_over(view.id, by="agent@example.com", display_name="Sam", actor="console:a")
        service.post(view.id, "I want to update my payment card", actor="test")
        for message in messages:
            posted.responses.append(json.dumps(asdict(service.post(view.id, message, actor="test"))))
        posted.add(view.id, Typed(" ".join(messages), (card,), kind="card_number"))
        for piece in pieces:
            if len(piece) >= 6:  # each part alone is looked for too
                posted.add(view.id, Typed(piece, (piece,), kind="pin"))

    conversation()
    assert_nothing_leaked(runtime, posted, logs.text)


def test_secrets_through_the_api_and_an_engine_crash(runtime: Runtime, logs: pytest.LogCaptureFixture,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The HTTP API's responses and transcript, and the crash path's log line and stored message."""
    posted = Posted()
    with runtime.db.session() as session:
        key = ApiKeyRepository(session).create(role="integration")[0]
    headers = {"Authorization": f"Bearer {key}"}

    @settings(PROPERTY, max_examples=40)
    @given(st.lists(secret_messages, min_size=2, max_size=3))
    def conversation(messages: list[Typed]) -> None:
        start = client.post("/api/v1/conversations", headers=headers, json={"channel": "chat"})
        conversation_id = start.json()["id"]
        for typed in messages:
            reply = client.post(f"/api/v1/conversations/{conversation_id}/messages", headers=headers,
                                json={"text": typed.text})
            assert reply.status_code == 200
            posted.responses.append(reply.text)
            posted.add(conversation_id, typed)
            if reply.json()["ended"]:  # "... thanks" may close it: the next secret goes to a new one
                posted.responses.append(client.get(f"/api/v1/conversations/{conversation_id}", headers=headers).text)
                conversation_id = client.post("/api/v1/conversations", headers=headers,
                                              json={"channel": "chat"}).json()["id"]
        posted.responses.append(client.get(f"/api/v1/conversations/{conversation_id}", headers=headers).text)

    with TestClient(create_app(runtime, sweep_every_seconds=None), raise_server_exceptions=False) as client:
        conversation()

        def explode(*_args: object, **_kwargs: object) -> None:
            raise RuntimeError("boom")

        monkeypatch.setattr(runtime.engine, "handle", explode)
        start = client.post("/api/v1/conversations", headers=headers, json={"channel": "chat"}).json()["id"]
        crash = Typed("my card is 4111 1111 1111 1111, ssn 123-45-6789, my password is Tr0ub4dor&3",
                      ("4111111111111111", "123456789"), ("Tr0ub4dor&3",), kind="card_number")
        reply = client.post(f"/api/v1/conversations/{start}/messages", headers=headers, json={"text": crash.text})
        posted.responses.append(reply.text)
        posted.add(start, crash)
        posted.responses.append(client.get(f"/api/v1/conversations/{start}", headers=headers).text)
    assert "engine failed" in logs.text
    assert_nothing_leaked(runtime, posted, logs.text)


def test_the_scan_finds_a_secret_that_was_stored(runtime: Runtime) -> None:
    """The scan itself works: a secret written straight into the database is found."""
    from helpline.store.repositories import ConversationRepository

    view = runtime.conversations.start(actor="test")
    with runtime.db.session() as session:
        ConversationRepository(session).append_message(view.id, role="customer", text="four one one one 1111 "
                                                       "1111 1111", now=NOW)
    posted = Posted()
    posted.add(view.id, Typed("", ("4111111111111111",), kind="card_number"))
    with pytest.raises(AssertionError, match="1 secrets found"):
        assert_nothing_leaked(runtime, posted, "")


def test_a_bare_pin_answering_the_identity_question_is_not_kept_in_the_state(runtime: Runtime) -> None:
    """A bare "0000" is read as a PIN and as a last-4: none of the readings may keep it in the stored state
    (found by the property test above with one seed)."""
    service = runtime.conversations
    view = service.start(actor="test")
    service.post(view.id, "where is my order BB-10166?", actor="test")
    service.post(view.id, "my pin is 0000", actor="test")
    service.post(view.id, "0000", actor="test")
    stored = [value for table, column, conversation, value in stored_texts(runtime.db.engine)
              if table == "conversations" and column == "state" and conversation == view.id]
    assert stored and not any("0000" in _TIMESTAMP.sub(" ", value) for value in stored)

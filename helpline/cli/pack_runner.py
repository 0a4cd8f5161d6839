"""Runs a pack's example conversations (tests/*.yaml) against the real engine, each in a throwaway SQLite
database with freshly seeded business tables, and says what differed from the expectations."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from helpline.connectors.gateway import PackOperations
from helpline.connectors.sql import SqlOperations
from helpline.pack.conversation_tests import CODE_PLACEHOLDER, ConversationTest, Expectation
from helpline.pack.loader import BusinessPack
from helpline.runtime import PackModels, Runtime, build_models, build_runtime, open_database
from helpline.store.models import AuditEntry, Conversation, Ticket

OPERATION_ENTITY = "operation:"  # audit entries of operation calls (application/recorder.py)


class RememberedCodes:
    """Keeps the one-time codes the agent sends instead of emailing them: a test writes `{code}` where the
    customer types the code they received."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, contact: str, code: str) -> bool:
        self.sent.append((contact, code))
        return True

    @property
    def last(self) -> str:
        return self.sent[-1][1] if self.sent else ""


@dataclass
class ConversationOutcome:
    file: str
    name: str
    problems: list[str] = field(default_factory=list)  # empty: passed
    turns: int = 0
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class _Observed:
    replies: list[str]
    started: list[str]
    called: list[str]
    verified: bool


def check_turn(expect: Expectation, seen: _Observed) -> list[str]:
    """What differed from one turn's expectations (empty when it matched)."""
    said = " ".join(seen.replies).lower()
    problems = [f"expected the reply to say '{part}'" for part in expect.says if part.lower() not in said]
    if expect.says_any and not any(part.lower() in said for part in expect.says_any):
        problems.append(f"expected the reply to say one of {expect.says_any}")
    problems += [f"the reply must not say '{part}'" for part in expect.never_says if part.lower() in said]
    if expect.starts is not None and expect.starts not in seen.started:
        problems.append(f"expected '{expect.starts}' to start; started: {', '.join(seen.started) or 'nothing'}")
    if expect.calls and [name for name in seen.called if name in expect.calls] != expect.calls:
        problems.append(f"expected calls {expect.calls}; called: {', '.join(seen.called) or 'nothing'}")
    problems += [f"'{name}' must not be called" for name in expect.never_calls if name in seen.called]
    if expect.verified is not None and expect.verified != seen.verified:
        problems.append("expected the customer to be verified" if expect.verified else
                        "expected the customer not to be verified yet")
    return problems


class PackTestRunner:
    """Builds the pack's models once (the slow part), then runs each conversation on its own databases."""

    def __init__(self, pack: BusinessPack, workdir: Path):
        self.pack = pack
        self.workdir = workdir
        self._models: PackModels | None = None
        self._template_db: Path | None = None

    def prepare(self) -> None:
        catalogue = self.workdir / "catalogue.db"
        sql = SqlOperations.open(f"sqlite:///{catalogue}", self.pack.root, self.pack.operations.tables)
        try:
            self._models = build_models(self.pack, PackOperations(self.pack.operations, sql))
        finally:
            sql.engine.dispose()
        # one migrated database, copied for each conversation (migrating each would take seconds)
        self._template_db = self.workdir / "template.db"
        open_database(f"sqlite:///{self._template_db}").dispose()

    def run(self, file: str, test: ConversationTest) -> ConversationOutcome:
        if self._models is None or self._template_db is None:
            self.prepare()
        assert self._models is not None and self._template_db is not None
        outcome = ConversationOutcome(file, test.name or file)
        started_at = time.perf_counter()
        folder = self.workdir / f"conversation-{len(list(self.workdir.glob('conversation-*')))}"
        folder.mkdir()
        shutil.copy(self._template_db, folder / "helpline.db")
        now = test.now or datetime.now(UTC)
        codes = RememberedCodes()
        runtime = build_runtime(self.pack.root, db_url=f"sqlite:///{folder / 'helpline.db'}",
                                records_url=f"sqlite:///{folder / 'records.db'}", models=self._models,
                                clock=lambda: now, code_sender=codes)
        try:
            self._converse(runtime, test, codes, outcome)
        finally:
            runtime.db.engine.dispose()
            if runtime.operations.sql is not None:
                runtime.operations.sql.engine.dispose()
        outcome.seconds = time.perf_counter() - started_at
        return outcome

    def run_all(self, tests: list[tuple[str, ConversationTest]]) -> Iterator[ConversationOutcome]:
        for file, test in tests:
            yield self.run(file, test)

    def _converse(self, runtime: Runtime, test: ConversationTest, codes: RememberedCodes,
                  outcome: ConversationOutcome) -> None:
        service = runtime.conversations
        conversation_id = service.start(channel=test.channel, actor="pack-test").id
        for number, turn in enumerate(test.turns, start=1):
            audit_before, requests_before = self._audit_mark(runtime), len(self._requests(runtime, conversation_id))
            text = turn.customer.replace(CODE_PLACEHOLDER, codes.last)
            view = service.post(conversation_id, text, actor="pack-test")
            requests = self._requests(runtime, conversation_id)
            seen = _Observed(view.replies, [r.get("procedure_id", "") for r in requests[requests_before:]],
                             self._calls_since(runtime, audit_before), bool(view.state.get("verified")))
            outcome.turns = number
            for problem in check_turn(turn.expect, seen):
                reply = " / ".join(view.replies) or "(no reply)"
                outcome.problems.append(f"turn {number} ({turn.customer[:50]!r}): {problem}\n  agent: {reply}")
            if view.ended:
                break
        if test.end:
            service.end(conversation_id, actor="pack-test")
        with runtime.db.read_session() as session:
            ticket = session.scalars(select(Ticket).where(Ticket.conversation_id == conversation_id)).one()
            if test.outcome is not None and ticket.status != test.outcome:
                outcome.problems.append(f"expected the ticket to be {test.outcome}; it is {ticket.status}")
            resolution = (ticket.resolution or "").lower()
            outcome.problems += [f"expected the ticket's resolution to mention '{part}' (it says "
                                 f"{ticket.resolution!r})" for part in test.resolution_contains
                                 if part.lower() not in resolution]

    @staticmethod
    def _audit_mark(runtime: Runtime) -> int:
        with runtime.db.read_session() as session:
            return session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1)) or 0

    @staticmethod
    def _calls_since(runtime: Runtime, mark: int) -> list[str]:
        with runtime.db.read_session() as session:
            entities = session.scalars(select(AuditEntry.entity).where(AuditEntry.id > mark)
                                       .order_by(AuditEntry.id)).all()
        return [e.removeprefix(OPERATION_ENTITY) for e in entities if e.startswith(OPERATION_ENTITY)]

    @staticmethod
    def _requests(runtime: Runtime, conversation_id: str) -> list[dict[str, str]]:
        with runtime.db.read_session() as session:
            conversation = session.get(Conversation, conversation_id)
            state = dict(conversation.state or {}) if conversation is not None else {}
        return list(state.get("requests", []))

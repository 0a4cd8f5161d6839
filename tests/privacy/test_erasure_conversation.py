"""Erasure after real conversations with the demo pack's engine: whatever the engine saved (verification
answers, slots, the customer's record, changes made, callbacks) is gone, the KPI figures stay."""

from __future__ import annotations

from datetime import UTC, datetime

from helpline.privacy.erasure import CustomerErasure
from tests.conftest import RuntimeFactory
from tests.privacy.seed import AISHA_TRACES, LUCAS_TRACES, rows_with
from tests.privacy.test_erasure import kpi_figures

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


def test_a_verified_chat_and_its_callback_leave_no_trace(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime(NOW)
    service = runtime.conversations
    chat = service.start(actor="test")
    for line in ("I'd like to cancel order BB-10160", "aisha.patel@example.com", "ordered it by mistake", "yes",
                 "I'd like to book a callback", "my espresso machine warranty", "915 555 0170", "any time"):
        replies = service.post(chat.id, line, actor="test").replies
    assert "booked a callback to +19155550170" in " ".join(replies)
    service.end(chat.id, actor="test")
    other = service.start(actor="test")
    service.post(other.id, "where is my order BB-10001? my email is lucas.reed@example.com", actor="test")
    service.end(other.id, actor="test")
    figures = kpi_figures(runtime.db)
    assert len(rows_with(runtime.db, AISHA_TRACES)) > 5 and rows_with(runtime.db, LUCAS_TRACES)

    report = CustomerErasure(runtime.db).erase("C-1038", actor="test")
    assert report.complete and report.erased.conversations == 1
    assert report.erased.callbacks == 1 and report.erased.customers == 1
    assert rows_with(runtime.db, (*AISHA_TRACES, "bb-10160", "espresso machine")) == []
    assert rows_with(runtime.db, LUCAS_TRACES)
    assert kpi_figures(runtime.db) == figures

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from helpline.analytics import kpis
from helpline.analytics.kpis import Contact
from helpline.console.charts import data_table, horizontal_bars, stacked_days, trend_line

T0 = datetime(2026, 11, 2, 10, tzinfo=UTC)


def _c(days: int = 0, channel: str = "chat", category: str = "orders", status: str = "resolved",
       escalated: bool = False, aht: int = 0, csat: int | None = None, customer: str | None = None) -> Contact:
    return Contact(T0 + timedelta(days=days), channel, category, status, escalated, aht, csat, customer)


def test_rates_and_empty_input() -> None:
    contacts = [_c(), _c(escalated=True), _c(), _c(status="awaiting_callback")]
    assert kpis.escalation_rate(contacts) == 0.25
    assert kpis.containment_rate(contacts) == 0.5  # resolved by the AI: the open callback is not contained
    assert kpis.escalation_rate([]) is None and kpis.average_handle_time([]) is None
    assert kpis.csat([]) == kpis.Csat(None, None, 0)


def test_first_contact_resolution_counts_repeat_contacts_within_the_window() -> None:
    contacts = [_c(0, customer="a"), _c(3, customer="a", status="open"),  # a came back: not FCR
                _c(0, customer="b"), _c(10, customer="b"),                 # b came back after 10 days: both FCR
                _c(0)]                                                     # anonymous: counts as resolved first time
    assert kpis.first_contact_resolution(contacts) == 3 / 4  # of the 4 resolved, only a0 had a repeat


def test_aht_csat_reasons_and_days() -> None:
    contacts = [_c(aht=60, csat=5), _c(aht=180, csat=2, category="returns"), _c(channel="voice", csat=4),
                _c(days=2, category="returns")]
    assert kpis.average_handle_time(contacts) == 120
    assert kpis.csat(contacts) == kpis.Csat(11 / 3, 2 / 3, 3)
    assert kpis.top_reasons(contacts) == [("orders", 2), ("returns", 2)]
    days = kpis.contacts_per_day(contacts, date(2026, 11, 1), date(2026, 11, 4))
    assert list(days) == [date(2026, 11, d) for d in (1, 2, 3, 4)]
    assert days[date(2026, 11, 2)] == {"chat": 2, "voice": 1} and days[date(2026, 11, 1)] == {}


def test_charts_escape_labels() -> None:
    svg = horizontal_bars([("<b>x</b>", 3)], "Reasons")
    assert "<b>" not in svg and "&lt;b&gt;" in svg
    chart = stacked_days({date(2026, 11, 2): {"chat": 2}}, ["chat"], "Per day")
    assert chart.startswith("<svg") and 'role="img"' in chart


def test_a_resolved_ticket_whose_problem_stayed_is_not_first_contact_resolution() -> None:
    contacts = [
        _c(0, customer="a"), _c(2, customer="a"),          # a came back about the same thing: neither is FCR
        _c(0, customer="b"), _c(1, customer="b", category="returns"),  # b's second contact is another issue: FCR
        Contact(T0, "chat", "technical", "resolved", False, last_customer_text="ok it turned off again, still not "
                                                                                  "working"),
        Contact(T0, "chat", "orders", "resolved", False, csat=2),       # the survey says it was not solved
        Contact(T0, "chat", "orders", "resolved", False, joined_earlier=True),  # itself a repeat (tickets joined)
        Contact(T0, "chat", "orders", "resolved", False, repeat_elsewhere=True),  # came back after the period
        Contact(T0, "chat", "orders", "resolved", False, last_customer_text="that worked, thanks!", csat=4),
    ]
    assert kpis.solved_flags(contacts) == [False, False, True, True, False, False, False, False, True]
    assert kpis.first_contact_resolution(contacts) == 3 / 9
    # containment counts the same way, and never a contact a person took
    assert kpis.containment_rate([*contacts, _c(5, escalated=True)]) == 3 / 10


def test_a_chat_then_a_call_about_the_same_thing_is_fcr_on_neither_channel() -> None:
    rows = {r.channel: r for r in kpis.by_channel([_c(0, customer="a"), _c(1, "phone", customer="a"),
                                                    _c(0, "phone", customer="b", aht=300)], 20)}
    assert rows["chat"].fcr == 0.0 and rows["phone"].fcr == 0.5 and rows["phone"].aht_seconds == 300


def _call(wait: float | None, *, escalated: bool = False, person: float | None = None, callback: bool = False,
          ended: bool = True, spoke: bool = True, channel: str = "phone") -> Contact:
    return Contact(T0, channel, "orders", "open", escalated, ended=ended, answer_wait_seconds=wait,
                   person_wait_seconds=person, callback_booked=callback, customer_spoke=spoke)


def test_service_level_counts_calls_answered_within_the_target() -> None:
    calls = [_call(2), _call(25),                          # the AI answered in 2 s; a slow answer at 25 s
             _call(1, escalated=True, person=12),          # waited 12 s for a person: in time
             _call(1, escalated=True, person=95),          # waited 95 s: answered, not in time
             _call(1, escalated=True, callback=True),      # a callback was booked instead: the AI's answer counts
             _call(1, escalated=True),                     # left waiting for a person
             _call(1, ended=False),                        # still on the line: not counted yet
             _call(50, channel="chat")]                    # text has no service level
    assert kpis.service_level(calls, 20) == 3 / 6
    assert kpis.service_level([_call(3, channel="email")], 20) is None


def test_abandonment_is_leaving_before_an_answer_or_while_waiting_for_a_person() -> None:
    contacts = [_call(None, channel="chat"),               # wrote, no reply came
                _call(None, spoke=False, channel="chat"),  # opened the chat and said nothing: not abandoned
                _call(1, escalated=True),                  # waited for a person who never came, no callback
                _call(1, escalated=True, callback=True),   # a callback instead: not abandoned
                _call(1, escalated=True, person=30),       # a person took it
                _call(None, ended=False, channel="chat")]  # still going
    assert [kpis.abandoned(c) for c in contacts] == [True, False, True, False, False, False]
    assert kpis.abandonment_rate(contacts) == 2 / 5


def test_nps_qa_bands_and_days() -> None:
    answers = [Contact(T0, "sms", "orders", "resolved", False, nps=n) for n in (10, 9, 8, 7, 6, 0)]
    assert kpis.net_promoter_score(answers) == (0.0, 6)  # 2 promoters, 2 detractors of 6
    assert kpis.net_promoter_score([_c()]) == (None, 0)
    scored = [Contact(T0, "chat", "x", "resolved", False, qa_score=s) for s in (100.0, 95.0, 80.0, 5.0)]
    bands = dict(kpis.qa_distribution(scored))
    assert bands["90–100"] == 2 and bands["80–89"] == 1 and bands["0–9"] == 1 and sum(bands.values()) == 4
    days = kpis.by_day([_c(0, aht=60, csat=4), _c(2, csat=2)], date(2026, 11, 2), date(2026, 11, 4), 20)
    assert [d.contacts for d in days] == [1, 0, 1] and days[1].fcr is None and days[2].fcr == 0.0


def test_trend_lines_leave_gaps_and_carry_a_text_alternative() -> None:
    svg = trend_line([(date(2026, 11, 2), 0.5), (date(2026, 11, 3), None), (date(2026, 11, 4), 1.0)],
                     "FCR <by day>", lambda v: f"{v:.0%}", y_max=1.0, goal=0.8)
    assert "<desc" in svg and "aria-labelledby" in svg and "&lt;by day&gt;" in svg
    assert "<polyline" not in svg  # two lone points across a gap are not joined
    table = data_table("Per <day>", ["Day", "n"], [("2026-11-02", "<b>")])
    assert "<details" in table and "&lt;b&gt;" in table and "<b>" not in table

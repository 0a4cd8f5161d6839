"""A day is the business's day: its bounds in UTC around midnight and across clock changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from helpline.application.business_days import BusinessDays

CHICAGO = BusinessDays.named("America/Chicago")


def test_late_evening_local_is_still_that_day_though_utc_has_moved_on() -> None:
    late = datetime(2026, 11, 20, 5, 30, tzinfo=UTC)  # 23:30 on the 19th in Chicago (UTC-6)
    assert CHICAGO.day_of(late) == date(2026, 11, 19)
    assert CHICAGO.day_of(late.replace(tzinfo=None)) == date(2026, 11, 19)  # naive from SQLite: UTC
    assert CHICAGO.day_of(datetime(2026, 11, 20, 6, 0, tzinfo=UTC)) == date(2026, 11, 20)  # local midnight


def test_a_span_of_days_runs_from_local_midnight_to_the_next_local_midnight() -> None:
    start, end = CHICAGO.span(date(2026, 11, 19), date(2026, 11, 19))
    assert start == datetime(2026, 11, 19, 6, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    assert CHICAGO.span(None, None) == (None, None)
    assert CHICAGO.span(date(2026, 11, 19), None)[1] is None


def test_days_across_a_clock_change_are_23_and_25_hours_long() -> None:
    spring_start, spring_end = CHICAGO.span(date(2026, 3, 8), date(2026, 3, 8))
    assert spring_end - spring_start == timedelta(hours=23)
    autumn_start, autumn_end = CHICAGO.span(date(2026, 11, 1), date(2026, 11, 1))
    assert autumn_end - autumn_start == timedelta(hours=25)


def test_where_the_clock_skips_midnight_the_day_starts_at_the_change() -> None:
    # Santiago moved its clocks from 00:00 to 01:00 on 2026-09-06: the day's first instant is 04:00 UTC.
    santiago = BusinessDays.named("America/Santiago")
    start = santiago.start(date(2026, 9, 6))
    assert start == datetime(2026, 9, 6, 4, 0, tzinfo=UTC)
    assert santiago.day_of(start) == date(2026, 9, 6)
    assert santiago.day_of(start - timedelta(microseconds=1)) == date(2026, 9, 5)


def test_today_is_the_business_s_date_not_utc_s() -> None:
    assert CHICAGO.today(datetime(2026, 12, 1, 2, 0, tzinfo=UTC)) == date(2026, 11, 30)
    assert BusinessDays.named("Asia/Tokyo").today(datetime(2026, 11, 30, 20, 0, tzinfo=UTC)) == date(2026, 12, 1)

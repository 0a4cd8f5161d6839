"""The spike rule: a burst well above the reason's 14-day rate is flagged; a steady rate and a handful are not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpline.insight.spikes import SpikeRule, spike_at, spikes_between

NOW = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)


def every(step: timedelta, start: datetime, end: datetime) -> list[datetime]:
    times, moment = [], start
    while moment < end:
        times.append(moment)
        moment += step
    return times


def test_a_burst_over_a_quiet_baseline_is_a_spike() -> None:
    quiet = every(timedelta(days=1), NOW - timedelta(days=14), NOW - timedelta(hours=6))  # one a day
    burst = every(timedelta(minutes=30), NOW - timedelta(hours=5), NOW)  # ten in five hours
    spike = spike_at(sorted(quiet + burst), NOW)
    assert spike is not None
    assert spike.count == 10
    assert spike.expected < 1.0 and spike.p_value < 0.001


def test_a_steady_rate_is_not_a_spike_however_busy() -> None:
    steady = every(timedelta(minutes=20), NOW - timedelta(days=15), NOW)  # three an hour for two weeks
    assert spike_at(steady, NOW) is None
    assert spikes_between(steady, NOW - timedelta(days=7), NOW) == []


def test_a_new_reason_needs_the_minimum_count() -> None:
    four = every(timedelta(minutes=30), NOW - timedelta(hours=2), NOW)
    assert spike_at(four, NOW, SpikeRule(min_count=5)) is None  # four contacts, never seen before: not yet
    assert spike_at(four, NOW, SpikeRule(min_count=4)) is not None


def test_spikes_between_finds_the_window_of_a_past_burst() -> None:
    quiet = every(timedelta(days=1), NOW - timedelta(days=20), NOW)
    burst = every(timedelta(minutes=20), NOW - timedelta(days=3, hours=5), NOW - timedelta(days=3))
    found = spikes_between(sorted(quiet + burst), NOW - timedelta(days=7), NOW)
    assert [s.window_end for s in found] == [NOW - timedelta(days=3)]

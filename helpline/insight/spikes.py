"""Is a contact reason suddenly much more frequent than usual? A Poisson tail test on its counts.

The rule, as the console states it: over the previous ``baseline`` (14 days) the reason came in at some rate per
``window`` (6 hours); if contacts arrive at that rate independently, their count in a window is Poisson. A window
is a spike when it holds at least ``min_count`` contacts (a handful of contacts is never an incident) and a count
that high would happen by chance less than ``max_p`` of the time (1 in 1000) at the usual rate. The usual rate is
(contacts in the baseline + 1) / windows in the baseline: the added one means a reason never seen before still
needs ``min_count`` contacts and a surprising number of them, and an empty history is not a rate of zero.

Over a past period (the weekly report) the window slides by an hour, and a burst is reported once, by its most
surprising window. It does not model the hour of day or the day of week (a reason that is always busier on Monday
mornings may flag then); ``min_count`` and the small ``max_p`` keep those cases to real jumps.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from scipy.stats import poisson


@dataclass(frozen=True)
class SpikeRule:
    window: timedelta = timedelta(hours=6)
    baseline: timedelta = timedelta(days=14)
    min_count: int = 5
    max_p: float = 0.001

    def describe(self) -> str:
        hours = self.window.total_seconds() / 3600
        return (f"at least {self.min_count} contacts in {hours:g} hours, a count with less than a "
                f"{self.max_p:.1%} chance at the reason's rate over the previous {self.baseline.days} days")


@dataclass(frozen=True)
class Spike:
    window_end: datetime
    count: int  # contacts in the window
    expected: float  # contacts the baseline rate predicts in a window
    p_value: float  # chance of at least ``count`` at that rate

    @property
    def ratio(self) -> float:
        return self.count / self.expected if self.expected else float("inf")


def spike_at(times: Sequence[datetime], now: datetime, rule: SpikeRule = SpikeRule()) -> Spike | None:
    """The spike in the window ending at ``now``, if there is one; ``times`` must be sorted."""
    window_start = now - rule.window
    recent = bisect_right(times, now) - bisect_right(times, window_start)
    if recent < rule.min_count:
        return None
    before = bisect_right(times, window_start) - bisect_left(times, window_start - rule.baseline)
    expected = (before + 1) / (rule.baseline / rule.window)
    p_value = float(poisson.sf(recent - 1, expected))  # P(X >= recent)
    if p_value >= rule.max_p:
        return None
    return Spike(now, recent, expected, p_value)


def spikes_between(times: Sequence[datetime], start: datetime, end: datetime, rule: SpikeRule = SpikeRule(),
                   step: timedelta = timedelta(hours=1)) -> list[Spike]:
    """The spikes in the period: the window slides back from ``end`` by ``step`` (a burst is not split between two
    fixed windows), and of overlapping spike windows the most surprising one stands for the burst."""
    found: list[Spike] = []
    moment = end
    while moment > start:
        spike = spike_at(times, moment, rule)
        if spike is not None:
            found.append(spike)
        moment -= step
    bursts: list[list[Spike]] = []
    for spike in sorted(found, key=lambda s: s.window_end):
        if bursts and spike.window_end - bursts[-1][-1].window_end < rule.window:
            bursts[-1].append(spike)
        else:
            bursts.append([spike])
    return [min(burst, key=lambda s: (s.p_value, -s.count, s.window_end)) for burst in bursts]

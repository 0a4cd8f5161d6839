"""Reading dates and free-text answers the way customers give them (understanding/slot_values.py)."""

from __future__ import annotations

from datetime import datetime

import pytest

from helpline.conversation.ports import Entity
from helpline.understanding.slot_values import TemporalReader, names_a_period, strip_place_lead, with_windows

TUESDAY_10_NOV = datetime(2026, 11, 10, 10, 0)


@pytest.mark.parametrize(("text", "day"), [
    ("Thursday 19 November 2026", "2026-11-19"),
    ("how about friday the 27th", "2026-11-27"),
    ("wednesday, 2 december", "2026-12-02"),
    ("sat 21st", "2026-11-21"),
    ("thursday", "2026-11-12"),  # a weekday alone is still the next one
])
def test_a_date_beside_a_weekday_decides_the_day(text: str, day: str) -> None:
    assert TemporalReader().read(text, "date", TUESDAY_10_NOV).value == day


def test_a_weekday_and_time_keep_both() -> None:
    assert TemporalReader().read("friday the 13th at 10am", "datetime", TUESDAY_10_NOV).value == "2026-11-13T10:00:00"


def test_ruling_out_a_dated_weekday_names_that_date() -> None:
    answer = TemporalReader().read("monday the 16th is no good, tuesday the 17th is", "date", TUESDAY_10_NOV)
    assert answer.ruled_out == ("2026-11-16",) and answer.value == "2026-11-17"


def test_a_period_entity_carries_its_window() -> None:
    month = Entity("date", "2026-12-10", "next month", 10, 20)
    day = Entity("date", "2026-12-18", "18 December", 30, 41)
    assert with_windows((month, day), TUESDAY_10_NOV) == (
        Entity("date", "2026-12-01/2026-12-31", "next month", 10, 20), day)
    assert names_a_period("the coming week") and not names_a_period("next tuesday")


@pytest.mark.parametrize(("text", "kept"), [
    ("we'll be moving to Cedar Flats", "Cedar Flats"),
    ("to mesa alta, like I told you", "mesa alta"),
    ("um, it's in Ocotillo thanks", "Ocotillo"),
    ("Juniper Gap", "Juniper Gap"),
    ("to get there take the second left after the bridge", "to get there take the second left after the bridge"),
])
def test_a_short_place_answer_drops_its_lead(text: str, kept: str) -> None:
    assert strip_place_lead(text) == kept

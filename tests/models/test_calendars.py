"""Shift calendars of production lines."""

from __future__ import annotations

import pytest

from models.calendars import Shift, ShiftSyntaxError, parse_shifts, weekly_minutes


def test_weekday_ranges_and_several_rules() -> None:
    shifts = parse_shifts("Mon-Fri 06:00-22:00; Sat 06:00-14:00")
    assert len(shifts) == 6
    assert shifts[0] == Shift(0, 360, 960) and shifts[-1] == Shift(5, 360, 480)
    assert weekly_minutes(shifts) == 5 * 960 + 480


def test_round_the_clock_and_overnight() -> None:
    assert weekly_minutes(parse_shifts("24/7")) == 7 * 24 * 60
    night = parse_shifts("daily 22:00-06:00")
    assert night[0] == Shift(0, 22 * 60, 8 * 60) and len(night) == 7


def test_day_lists_and_split_shifts() -> None:
    shifts = parse_shifts("mon,wed,FRI 06:00-10:00,12:00-24:00")
    assert [s.weekday for s in shifts] == [0, 0, 2, 2, 4, 4]
    assert weekly_minutes(shifts) == 3 * (240 + 720)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("Mon-Fri", "needs days and times"),
        ("Funday 06:00-14:00", "not a weekday"),
        ("Fri-Mon 06:00-14:00", "runs backwards"),
        ("Mon 25:00-26:00", "between 00:00 and 24:00"),
        ("Mon 6-14", "not a time"),
        ("Mon 06:00-14:00; Mon 12:00-20:00", "overlap"),
        ("Mon 24:00-06:00", "cannot start at 24:00"),
    ],
)
def test_bad_calendars_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ShiftSyntaxError, match=message):
        parse_shifts(text)

"""Line calendars: the `shifts` text of the `lines` table.

Grammar (case-insensitive, whitespace-tolerant)::

    shifts   := "24/7" | rule (";" rule)*
    rule     := days " " ranges
    days     := "daily" | day ("," day)* | day "-" day        e.g. "Mon-Fri", "Sat,Sun", "daily"
    ranges   := HH:MM "-" HH:MM ("," HH:MM "-" HH:MM)*        end "24:00" allowed; end <= start crosses midnight

Examples: ``"Mon-Fri 06:00-22:00; Sat 06:00-14:00"``, ``"daily 22:00-06:00"``, ``"24/7"``.

Public interface: `parse_shifts(text) -> list[Shift]`, `ShiftSyntaxError`, `weekly_minutes(shifts)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


class ShiftSyntaxError(ValueError):
    """A `shifts` text that does not follow the grammar in this module's docstring."""


@dataclass(frozen=True)
class Shift:
    """One working window: starts on `weekday` (0 = Monday) at `start` minutes after midnight, lasts `minutes`."""

    weekday: int
    start: int
    minutes: int


def _parse_time(text: str, whole: str) -> int:
    match = _TIME.match(text.strip())
    if not match:
        raise ShiftSyntaxError(f"{whole!r}: {text.strip()!r} is not a time HH:MM")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ShiftSyntaxError(f"{whole!r}: {text.strip()!r} is not a time between 00:00 and 24:00")
    return hours * 60 + minutes


def _parse_day(text: str, whole: str) -> int:
    key = text.strip().lower()[:3]
    if key not in DAY_NAMES or len(text.strip()) < 3:
        raise ShiftSyntaxError(f"{whole!r}: {text.strip()!r} is not a weekday (Mon, Tue, … Sun)")
    return DAY_NAMES.index(key)


def _parse_days(text: str, whole: str) -> list[int]:
    text = text.strip().lower()
    if text in ("daily", "all", "mon-sun"):
        return list(range(7))
    days: list[int] = []
    for part in text.split(","):
        if "-" in part:
            first, last = (_parse_day(p, whole) for p in part.split("-", 1))
            if last < first:
                raise ShiftSyntaxError(f"{whole!r}: day range {part.strip()!r} runs backwards")
            days.extend(range(first, last + 1))
        else:
            days.append(_parse_day(part, whole))
    return sorted(set(days))


def parse_shifts(text: str) -> list[Shift]:
    """Parse a `shifts` text into working windows, one per weekday and time range."""
    whole = text
    text = text.strip()
    if not text:
        raise ShiftSyntaxError("shifts is empty; use e.g. 'Mon-Fri 06:00-22:00' or '24/7'")
    if text.lower() == "24/7":
        return [Shift(day, 0, MINUTES_PER_DAY) for day in range(7)]
    shifts: list[Shift] = []
    for rule in filter(None, (r.strip() for r in text.split(";"))):
        parts = rule.split(None, 1)
        if len(parts) != 2:
            raise ShiftSyntaxError(f"{whole!r}: rule {rule!r} needs days and times, e.g. 'Mon-Fri 06:00-14:00'")
        days = _parse_days(parts[0], whole)
        for window in parts[1].split(","):
            if "-" not in window:
                raise ShiftSyntaxError(f"{whole!r}: {window.strip()!r} is not a time range HH:MM-HH:MM")
            start_text, end_text = window.split("-", 1)
            start, end = _parse_time(start_text, whole), _parse_time(end_text, whole)
            if start == MINUTES_PER_DAY:
                raise ShiftSyntaxError(f"{whole!r}: a shift cannot start at 24:00")
            length = end - start if end > start else end + MINUTES_PER_DAY - start
            shifts.extend(Shift(day, start, length) for day in days)
    _check_overlaps(shifts, whole)
    return sorted(shifts, key=lambda s: (s.weekday, s.start))


def _check_overlaps(shifts: list[Shift], whole: str) -> None:
    week = 7 * MINUTES_PER_DAY
    spans = sorted((s.weekday * MINUTES_PER_DAY + s.start, s.minutes) for s in shifts)
    for (start_a, len_a), (start_b, _) in zip(spans, spans[1:] + spans[:1], strict=True):
        gap = (start_b - start_a) % week or (week if len(spans) == 1 else 0)
        if len_a > gap:
            raise ShiftSyntaxError(f"{whole!r}: shifts overlap")


def weekly_minutes(shifts: list[Shift]) -> int:
    """Working minutes per week."""
    return sum(s.minutes for s in shifts)

"""Line calendars as time windows: shifts and downtime become the periods a line cannot work.

Times are integer minutes from the plan's origin (a naive local date-time, plant time). A line's working time is
the union of its weekly shifts (`models.calendars.parse_shifts`) repeated over the horizon; everything else
in [0, horizon) — nights, weekends — plus its downtime windows is *unavailable*. The scheduling model blocks
those periods on the line, so no operation or changeover runs across them: an operation is one uninterrupted
run inside one working window (see `optimizer.schedule.plant` for why, and for the lot splitting that makes
every operation fit a window).

Public interface: `to_minutes`, `to_datetime`, `working_windows`, `unavailable_periods`, `merge`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from models.calendars import MINUTES_PER_DAY, Shift, parse_shifts

Span = tuple[int, int]


def to_minutes(when: dt.datetime, origin: dt.datetime) -> int:
    """Whole minutes from `origin` to `when` (rounded down; negative before the origin)."""
    return int((when - origin).total_seconds() // 60)


def to_datetime(minutes: int, origin: dt.datetime) -> dt.datetime:
    """The date-time `minutes` after `origin`."""
    return origin + dt.timedelta(minutes=int(minutes))


def merge(spans: Iterable[Span]) -> list[Span]:
    """Sorted, non-overlapping union of half-open spans; touching spans are joined."""
    merged: list[list[int]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def working_windows(shifts: Sequence[Shift] | str, origin: dt.datetime, horizon: int) -> list[Span]:
    """Working windows in [0, horizon) minutes from `origin`, merged (a 24/7 line is one window)."""
    if isinstance(shifts, str):
        shifts = parse_shifts(shifts)
    midnight = dt.datetime.combine(origin.date(), dt.time())
    offset = to_minutes(midnight, origin)  # <= 0
    days = (horizon - offset) // MINUTES_PER_DAY + 2
    weekday0 = midnight.weekday()
    spans: list[Span] = []
    for day in range(-1, days):  # from the day before: a night shift may run into the first day
        weekday = (weekday0 + day) % 7
        base = offset + day * MINUTES_PER_DAY
        spans.extend((base + s.start, base + s.start + s.minutes) for s in shifts if s.weekday == weekday)
    return [(max(0, s), min(horizon, e)) for s, e in merge(spans) if e > 0 and s < horizon]


def unavailable_periods(
    shifts: Sequence[Shift] | str,
    origin: dt.datetime,
    horizon: int,
    downtime: Iterable[tuple[dt.datetime, dt.datetime]] = (),
) -> list[Span]:
    """Periods in [0, horizon) when the line cannot work: outside its shifts, or during a downtime window."""
    off: list[Span] = []
    cursor = 0
    for start, end in working_windows(shifts, origin, horizon):
        if start > cursor:
            off.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < horizon:
        off.append((cursor, horizon))
    for begin, finish in downtime:
        start, end = max(0, to_minutes(begin, origin)), min(horizon, -(-int((finish - origin).total_seconds()) // 60))
        if end > start:
            off.append((start, end))
    return merge(off)

"""Number formatting for the pages: thousands separators, units, a dash for missing values.

Public interface: `num`, `qty`, `money`, `pct`, `days`, `minutes`, `when`, `FILTERS`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

from markupsafe import Markup

DASH = "—"


def _bad(value: Any) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return True


def num(value: Any, digits: int = 0) -> str:
    """1234567.8 → '1,234,568' (digits=0), '1,234,567.8' (digits=1)."""
    if _bad(value):
        return DASH
    x = float(value)
    if math.isinf(x):
        return "∞"
    text = f"{x:,.{digits}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text


def qty(value: Any, unit: str = "") -> str:
    """A quantity: whole numbers without decimals, fractions with one; optional unit."""
    if _bad(value):
        return DASH
    x = float(value)
    whole = abs(x - round(x)) < 0.05 or abs(x) >= 1000
    text = f"{x:.2g}" if 0 < abs(x) < 0.95 else num(x, 0 if whole else 1)
    return f"{text} {unit}".rstrip()


def money(value: Any, compact: bool = False) -> str:
    """A value in the items' currency: '1,234,568', or compact '1.23 M' / '45.6 k'."""
    if _bad(value):
        return DASH
    x = float(value)
    if compact:
        for size, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
            if abs(x) >= size:
                return f"{x / size:,.{2 if abs(x) < 100 * size else 1}f} {suffix}"
    return num(x, 0 if abs(x) >= 100 else 2)


def pct(value: Any, digits: int = 1) -> str:
    """A fraction as a percentage: 0.9531 → '95.3 %'."""
    if _bad(value):
        return DASH
    return f"{100 * float(value):,.{digits}f} %"


def days(value: Any) -> str:
    """Days: '42 d'; '∞' when there is no demand to use the stock up."""
    if _bad(value):
        return DASH
    x = float(value)
    if math.isinf(x):
        return "∞"
    return f"{num(x, 0 if abs(x) >= 10 else 1)} d"


def minutes(value: Any) -> str:
    """Minutes as '2 h 15 min' / '45 min'."""
    if _bad(value):
        return DASH
    m = round(float(value))
    if abs(m) < 60:
        return f"{m} min"
    h, rest = divmod(m, 60)
    return f"{h:,} h {rest} min" if rest else f"{h:,} h"


def when(value: Any) -> str:
    """A date or date-time, ISO-like and short: '2024-03-01' or '2024-03-01 14:30'."""
    if value is None:
        return DASH
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def version(value: Any) -> str:
    """A model version: 'v7' for registry numbers, the name otherwise."""
    if value is None:
        return DASH
    text = str(value)
    return f"v{text}" if text.isdigit() else text


def ticks(text: Any) -> Markup:
    """Escape `text` and show its `back-quoted` parts as code."""
    parts = str(text or "").split("`")
    return Markup("").join(Markup("<code>%s</code>") % p if i % 2 else Markup.escape(p) for i, p in enumerate(parts))


FILTERS: dict[str, Callable[..., str]] = {
    "num": num, "qty": qty, "money": money, "pct": pct, "days": days, "minutes": minutes, "when": when,
    "version": version,
    "ticks": ticks,
}  # fmt: skip

__all__ = ["FILTERS", "days", "minutes", "money", "num", "pct", "qty", "ticks", "version", "when"]

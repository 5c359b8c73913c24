"""The schedule page: a Gantt chart per line of a production plan's operations (coloured by product family),
changeovers shaded before the operations that need them, late operations outlined and marked, the plan's KPIs and the
late orders.

Public interface: `SchedulePage`, `schedule_page(engine, plan_id=None)`, `gantt(ops, lines)`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from service.db.tables import Item, Line, ScheduledOperation
from service.web.plans import PlanRef, schedule_plan

PALETTE = ["#2563eb", "#0d9488", "#d97706", "#7c3aed", "#db2777", "#059669", "#ea580c", "#4f46e5", "#0891b2",
           "#65a30d", "#9333ea", "#e11d48", "#0284c7", "#ca8a04", "#475569"]  # fmt: skip
CHANGEOVER = "rgba(100,116,139,0.45)"
LATE = "#dc2626"
MS_PER_MINUTE = 60_000


@dataclass
class SchedulePage:
    """What the schedule page shows; `plan` None when no schedule is stored."""

    plan: PlanRef | None
    kpis: dict[str, Any] = field(default_factory=dict)
    chart: dict[str, Any] | None = None
    late: list[dict[str, Any]] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)
    operations: int = 0


def _iso(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


def gantt(ops: list[dict[str, Any]], lines: dict[str, str]) -> dict[str, Any]:
    """A Plotly figure: horizontal bars (base = start, length in ms) per line, one trace per family, changeovers as
    grey bars before their operations, late operations outlined red with a ✕ at their end."""
    labels = {line: f"{line} · {name}" if name else line for line, name in lines.items()}
    order = sorted({op["line_id"] for op in ops}, reverse=True)
    families = sorted({op["family"] or "other" for op in ops})
    colors = {f: PALETTE[i % len(PALETTE)] for i, f in enumerate(families)}
    data: list[dict[str, Any]] = []
    setups = [op for op in ops if op["setup_minutes"] > 0]
    if setups:
        data.append(
            {
                "type": "bar", "orientation": "h", "name": "changeover",
                "y": [labels.get(op["line_id"], op["line_id"]) for op in setups],
                "base": [_iso(op["start"] - dt.timedelta(minutes=op["setup_minutes"])) for op in setups],
                "x": [op["setup_minutes"] * MS_PER_MINUTE for op in setups],
                "marker": {"color": CHANGEOVER, "pattern": {"shape": "/", "fgcolor": "#64748b", "size": 5}},
                "customdata": [[op["setup_minutes"], op["sku"]] for op in setups],
                "hovertemplate": "changeover %{customdata[0]:,.0f} min before %{customdata[1]}<extra></extra>",
            }
        )  # fmt: skip
    for family in families:
        mine = [op for op in ops if (op["family"] or "other") == family]
        late = [op["lateness_minutes"] > 0 for op in mine]
        data.append(
            {
                "type": "bar", "orientation": "h", "name": family,
                "y": [labels.get(op["line_id"], op["line_id"]) for op in mine],
                "base": [_iso(op["start"]) for op in mine],
                "x": [(op["end"] - op["start"]).total_seconds() * 1000 for op in mine],
                "marker": {
                    "color": colors[family],
                    "line": {"color": [LATE if x else "rgba(255,255,255,0.7)" for x in late],
                             "width": [2.5 if x else 0.6 for x in late]},
                },
                "customdata": [
                    [op["job_id"], op["op"], op["sku"], op["qty"], _iso(op["start"])[:16], _iso(op["end"])[:16],
                     _iso(op["due"])[:16] if op["due"] else "—", op["lateness_minutes"] / 60]
                    for op in mine
                ],
                "hovertemplate": "<b>%{customdata[0]}</b> op %{customdata[1]} · %{customdata[2]}<br>"
                "%{customdata[3]:,.0f} units · %{customdata[4]} → %{customdata[5]}<br>"
                "due %{customdata[6]} · late %{customdata[7]:,.1f} h<extra></extra>",
            }
        )  # fmt: skip
    late_ops = [op for op in ops if op["lateness_minutes"] > 0]
    if late_ops:
        data.append(
            {
                "type": "scatter", "mode": "markers", "name": "late",
                "y": [labels.get(op["line_id"], op["line_id"]) for op in late_ops],
                "x": [_iso(op["end"]) for op in late_ops],
                "marker": {"symbol": "x-thin", "size": 12, "line": {"color": LATE, "width": 3}, "color": LATE},
                "customdata": [[op["job_id"], op["lateness_minutes"] / 60] for op in late_ops],
                "hovertemplate": "%{customdata[0]} late by %{customdata[1]:,.1f} h<extra></extra>",
            }
        )  # fmt: skip
    layout = {
        "barmode": "overlay", "bargap": 0.28, "hovermode": "closest",
        "xaxis": {"type": "date", "title": {"text": ""}, "showgrid": True},
        "yaxis": {"type": "category", "categoryorder": "array",
                  "categoryarray": [labels.get(line, line) for line in order], "automargin": True},
        "legend": {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0, "font": {"size": 11},
                   "title": {"text": "family "}},
        "margin": {"l": 10, "r": 14, "t": 34, "b": 40},
    }  # fmt: skip
    return {"data": data, "layout": layout}


def schedule_page(engine: Engine, plan_id: str | None = None) -> SchedulePage:
    """The schedule of plan `plan_id` (default: the newest plan with one)."""
    with engine.connect() as conn:
        plan = schedule_plan(conn, plan_id)
        if plan is None:
            return SchedulePage(None)
        o = ScheduledOperation
        columns = (o.job_id, o.op, o.sku, o.qty, o.line_id, o.start, o.end, o.setup_minutes, o.due,
                   o.lateness_minutes, Item.family)  # fmt: skip
        query = (
            select(*columns)
            .join(Item, Item.sku == o.sku, isouter=True)
            .where(o.plan_id == plan.id)
            .order_by(o.line_id, o.start)
        )
        rows = conn.execute(query).mappings().all()
        names = {str(k): str(v or "") for k, v in conn.execute(select(Line.line_id, Line.name)).all()}
    ops = [dict(r) for r in rows]
    nested = plan.summary.get("production")
    summary: dict[str, Any] = nested if isinstance(nested, dict) else plan.summary
    kpis = dict(summary.get("kpis") or {})
    late: dict[str, dict[str, Any]] = {}
    for op in ops:
        if op["lateness_minutes"] > 0:
            worst = late.get(op["job_id"])
            if worst is None or op["lateness_minutes"] > worst["lateness_minutes"]:
                late[op["job_id"]] = op
    per_line: dict[str, dict[str, Any]] = {}
    for op in ops:
        entry = per_line.setdefault(op["line_id"], {"line_id": op["line_id"], "name": names.get(op["line_id"], ""),
                                                    "operations": 0, "setup_minutes": 0.0, "late": 0})  # fmt: skip
        entry["operations"] += 1
        entry["setup_minutes"] += op["setup_minutes"]
        entry["late"] += op["lateness_minutes"] > 0
    utilization = kpis.get("utilization") or {}
    for line, entry in per_line.items():
        entry["utilization"] = utilization.get(line)
    return SchedulePage(
        plan,
        kpis,
        gantt(ops, names) if ops else None,
        sorted(late.values(), key=lambda op: -op["lateness_minutes"]),
        [per_line[k] for k in sorted(per_line)],
        len(ops),
    )


__all__ = ["SchedulePage", "gantt", "schedule_page"]

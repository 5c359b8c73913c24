"""A plant schedule for people: the schedule table, KPIs, CSV/XLSX files and Gantt-chart data.

Schedule table (one row per operation, `TABLE_COLUMNS`): job (production order id), operation (routing step),
sku, qty, line, start, end (plant-local date-times), setup_minutes (the changeover right before it), due, and
lateness_minutes = end − due of the job's last operation (negative: early; empty for earlier operations), and
held_by_material: what the operation waited for (component, quantity short at its otherwise earliest start, when and
from which receipt or order it arrives; empty when it did not wait).

KPIs (`kpis`): orders and operations; on-time % (orders whose last operation ends by the due date); total and
weighted tardiness (hours); changeovers (count, hours); makespan; orders held back by material; and utilization per
line = (processing +
changeover minutes) / working minutes of the line's calendar, both within [plan start, plan end).

Public interface: `TABLE_COLUMNS`, `HOLD_COLUMNS`, `schedule_table`, `material_holds`, `blocked_orders`, `kpis`,
`gantt_data`, `write_csv`, `write_xlsx`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.schedule.calendar import to_datetime, unavailable_periods
from optimizer.schedule.materials import QTY_SCALE, holds
from optimizer.schedule.plant import PlantIndex
from optimizer.schedule.problem import Problem, Schedule

TABLE_COLUMNS = [
    "job",
    "operation",
    "sku",
    "qty",
    "line",
    "start",
    "end",
    "setup_minutes",
    "due",
    "lateness_minutes",
    "held_by_material",
]
HOLD_COLUMNS = ["job", "operation", "sku", "component", "missing_qty", "ready", "arrives", "source"]


def material_holds(problem: Problem, index: PlantIndex, schedule: Schedule) -> list[dict[str, Any]]:
    """Operations held back by material (`optimizer.schedule.materials.holds`) in plant terms (`HOLD_COLUMNS`):
    order id, routing step, SKU, component, quantity short at the otherwise earliest start `ready` (the
    component's unit), when enough `arrives` (ISO date-times) and its `source` (receipt id, producing order or
    'on hand')."""
    rows: list[dict[str, Any]] = []
    for hold in holds(problem, schedule):
        order = index.orders.iloc[hold.job]
        rows.append(
            {
                "job": str(order["order_id"]),
                "operation": index.op_numbers[hold.job][hold.op],
                "sku": str(order["sku"]),
                "component": hold.material,
                "missing_qty": round(hold.missing / QTY_SCALE, 3),
                "ready": to_datetime(hold.ready, index.origin).isoformat(timespec="minutes"),
                "arrives": to_datetime(hold.arrives, index.origin).isoformat(timespec="minutes"),
                "source": hold.source,
            }
        )
    return rows


def blocked_orders(index: PlantIndex) -> list[dict[str, Any]]:
    """Orders left out of the schedule because a component can never be there in full: order id, SKU, component,
    need, available and missing (the component's unit)."""
    return [
        {str(k): (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}
        for row in index.blocked.to_dict("records")
    ]


def schedule_table(problem: Problem, index: PlantIndex, schedule: Schedule) -> pd.DataFrame:
    """One row per operation (see the module docstring), ordered by line and start."""
    rows: list[dict[str, Any]] = []
    waited: dict[tuple[str, int], list[str]] = {}
    for hold in material_holds(problem, index, schedule):
        waited.setdefault((hold["job"], hold["operation"]), []).append(
            f"{hold['component']} {hold['missing_qty']:g} short until {hold['arrives'].replace('T', ' ')} "
            f"({hold['source']})"
        )
    for (j, k), a in schedule.assignments.items():
        order = index.orders.iloc[j]
        job = problem.jobs[j]
        last = k == len(job.operations) - 1
        rows.append(
            {
                "job": str(order["order_id"]),
                "operation": index.op_numbers[j][k],
                "sku": str(order["sku"]),
                "qty": float(order["qty"]),
                "line": index.lines[a.machine],
                "start": to_datetime(a.start, index.origin),
                "end": to_datetime(a.end, index.origin),
                "setup_minutes": float(a.setup),
                "due": pd.Timestamp(order["due"]).to_pydatetime(),
                "lateness_minutes": float(a.end - job.due) if last and job.due is not None else np.nan,
                "held_by_material": "; ".join(waited.get((str(order["order_id"]), index.op_numbers[j][k]), [])),
                "weight": job.weight,
                "family": problem.families[job.family] if job.family is not None else None,
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return pd.DataFrame(columns=[*TABLE_COLUMNS, "weight", "family"])
    return table.sort_values(["line", "start", "job"]).reset_index(drop=True)


def kpis(
    table: pd.DataFrame,
    lines: pd.DataFrame,
    line_downtime: pd.DataFrame,
    origin: dt.datetime,
    end: dt.datetime,
) -> dict[str, Any]:
    """Plan KPIs from a schedule table (see the module docstring); `lines` gives the calendars."""
    last = table.dropna(subset=["lateness_minutes"])
    late = last["lateness_minutes"].clip(lower=0.0)
    horizon = int((end - origin).total_seconds() // 60)
    utilization: dict[str, float | None] = {}
    for line, shifts in zip(lines["line_id"], lines["shifts"], strict=True):
        down = line_downtime[line_downtime["line_id"] == line]
        windows = [
            (pd.Timestamp(r["start"]).to_pydatetime(), pd.Timestamp(r["end"]).to_pydatetime())
            for r in down.to_dict("records")
        ]
        working = horizon - sum(e - s for s, e in unavailable_periods(str(shifts), origin, horizon, windows))
        ops = table[table["line"] == line]
        busy = 0.0
        for row in ops.to_dict("records"):
            run_start = pd.Timestamp(row["start"]).to_pydatetime() - dt.timedelta(minutes=float(row["setup_minutes"]))
            s = max(origin, run_start)
            e = min(end, pd.Timestamp(row["end"]).to_pydatetime())
            busy += max(0.0, (e - s).total_seconds() / 60)
        utilization[str(line)] = round(busy / working, 4) if working > 0 else None
    changeovers = table[table["setup_minutes"] > 0]
    return {
        "orders": int(table["job"].nunique()),
        "operations": len(table),
        "on_time_pct": round(100.0 * float((last["lateness_minutes"] <= 0).mean()), 2) if len(last) else None,
        "late_orders": int((last["lateness_minutes"] > 0).sum()),
        "total_tardiness_hours": round(float(late.sum()) / 60, 2),
        "weighted_tardiness_hours": round(float((late * last["weight"]).sum()) / 60, 2) if "weight" in last else None,
        "changeovers": len(changeovers),
        "changeover_hours": round(float(table["setup_minutes"].sum()) / 60, 2),
        "makespan": pd.Timestamp(table["end"].max()).isoformat() if len(table) else None,
        "orders_held_by_material": int(table.loc[table["held_by_material"] != "", "job"].nunique())
        if "held_by_material" in table
        else 0,
        "utilization": utilization,
    }


def gantt_data(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Bars for a Gantt chart (e.g. Plotly's timeline): one "setup" bar (if any) and one "run" bar per
    operation, with line, job, sku, family, start, finish (ISO) and whether the job is late."""
    bars: list[dict[str, Any]] = []
    late_jobs = set(table.loc[table["lateness_minutes"] > 0, "job"])
    for row in table.to_dict("records"):
        start = pd.Timestamp(row["start"])
        common = {
            "line": row["line"],
            "job": row["job"],
            "operation": int(row["operation"]),
            "sku": row["sku"],
            "family": row.get("family"),
        }
        if row["setup_minutes"] > 0:
            setup_start = start - pd.Timedelta(minutes=float(row["setup_minutes"]))
            bars.append(
                {
                    **common,
                    "kind": "setup",
                    "start": setup_start.isoformat(),
                    "finish": start.isoformat(),
                    "late": False,
                }
            )
        bars.append(
            {
                **common,
                "kind": "run",
                "start": start.isoformat(),
                "finish": pd.Timestamp(row["end"]).isoformat(),
                "late": row["job"] in late_jobs,
            }
        )
    return bars


def write_csv(table: pd.DataFrame, path: Path | str) -> Path:
    """The schedule table as UTF-8 CSV (ISO date-times)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = table[TABLE_COLUMNS].copy()
    for column in ("start", "end", "due"):
        out[column] = pd.to_datetime(out[column]).dt.strftime("%Y-%m-%dT%H:%M")
    out.to_csv(path, index=False)
    return path


def write_xlsx(table: pd.DataFrame, summary: dict[str, Any], path: Path | str) -> Path:
    """A workbook with sheets schedule, kpis and utilization."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    flat = {k: v for k, v in summary.items() if not isinstance(v, dict)}
    with pd.ExcelWriter(path, engine="xlsxwriter", datetime_format="yyyy-mm-dd hh:mm") as writer:
        table[TABLE_COLUMNS].to_excel(writer, sheet_name="schedule", index=False)
        pd.DataFrame({"kpi": list(flat), "value": [str(v) for v in flat.values()]}).to_excel(
            writer, sheet_name="kpis", index=False
        )
        pd.DataFrame(
            {"line": list(summary.get("utilization", {})), "utilization": list(summary.get("utilization", {}).values())}
        ).to_excel(writer, sheet_name="utilization", index=False)
    return path

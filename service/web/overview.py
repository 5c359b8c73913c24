"""Overview figures: the newest replenishment plan's inventory value, days of supply, expected fill rate, capital
released against the previous plan, alerts by severity and the top alerts by value at risk; and the
inventory-vs-fill-rate frontier of the policy replay (`leanplan bench policy --json <home>/bench/policy_raf.json`).

Public interface: `Overview`, `overview(engine, home)`, `frontier_chart(path)`, `FRONTIER_FILE`, `SEVERITIES`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, case, func, select

from optimizer.history import days_per_period
from service.db.tables import Alert, Item, PlanLine
from service.web.plans import PlanRef, replenishment_plans

SEVERITIES = ("critical", "high", "medium", "low")
FRONTIER_FILE = Path("bench") / "policy_raf.json"
TOP_ALERTS = 10
POLICY_NAMES = {"leanplan": "leanplan", "minmax": "ERP min/max", "normal": "normal (z·σ)"}
POLICY_COLORS = {"leanplan": "#2563eb", "minmax": "#dc2626", "normal": "#d97706"}


@dataclass
class Overview:
    """What the overview page shows; `plan` is None when no replenishment plan is stored."""

    plan: PlanRef | None
    previous: PlanRef | None = None
    items: int = 0
    kpis: dict[str, Any] = field(default_factory=dict)
    severity: dict[str, int] = field(default_factory=dict)
    top_alerts: list[dict[str, Any]] = field(default_factory=list)
    frontier: dict[str, Any] | None = None
    frontier_note: str = ""


def _kpis(engine: Engine, plan: PlanRef, previous: PlanRef | None) -> dict[str, Any]:
    active = PlanLine.expected_fill_rate.is_not(None)
    with engine.connect() as conn:
        row = conn.execute(
            select(
                func.count(),
                func.sum(PlanLine.capital),
                func.sum(PlanLine.demand_per_period * Item.unit_cost),
                func.sum(case((active, PlanLine.expected_fill_rate * PlanLine.demand_per_period), else_=0.0)),
                func.sum(case((active, PlanLine.demand_per_period), else_=0.0)),
                func.sum(case((PlanLine.order_qty > 0, 1), else_=0)),
                func.sum(PlanLine.order_qty * Item.unit_cost),
                func.sum(case((PlanLine.stockout_date.is_not(None), 1), else_=0)),
            )
            .select_from(PlanLine)
            .join(Item, Item.sku == PlanLine.sku, isouter=True)
            .where(PlanLine.plan_id == plan.id)
        ).one()
    lines, value, demand_value, fill_weighted, fill_demand, orders, order_value, stockouts = row
    dpp = days_per_period(str(plan.params.get("frequency") or "MS"))
    daily_value = (demand_value or 0.0) / dpp
    summary = plan.summary
    expected = summary.get("capital_expected")
    released = None
    if previous is not None and expected is not None and previous.summary.get("capital_expected") is not None:
        released = float(previous.summary["capital_expected"]) - float(expected)
    return {
        "lines": lines,
        "inventory_value": value or 0.0,
        "days_of_supply": (value or 0.0) / daily_value if daily_value > 0 else None,
        "fill_rate": fill_weighted / fill_demand if fill_demand else None,
        "orders": orders or 0,
        "order_value": order_value or 0.0,
        "stockouts": stockouts or 0,
        "capital_expected": expected,
        "capital_released": released,
        "fill_by_group": summary.get("expected_fill_by_group") or {},
        "groups": summary.get("groups") or {},
    }


def _alerts(engine: Engine, plan_id: str) -> tuple[dict[str, int], list[dict[str, Any]]]:
    with engine.connect() as conn:
        counts = dict(
            conn.execute(
                select(Alert.severity, func.count()).where(Alert.plan_id == plan_id).group_by(Alert.severity)
            ).all()
        )
        top = conn.execute(
            select(Alert.sku, Alert.supplier_id, Alert.type, Alert.severity, Alert.value_at_risk, Alert.message,
                   Alert.action)
            .where(Alert.plan_id == plan_id)
            .order_by(Alert.value_at_risk.desc(), Alert.id)
            .limit(TOP_ALERTS)
        ).mappings().all()  # fmt: skip
    ordered = {s: int(counts.pop(s, 0)) for s in SEVERITIES}
    ordered.update({str(k): int(v) for k, v in counts.items()})
    return ordered, [dict(r) for r in top]


def frontier_chart(path: Path) -> tuple[dict[str, Any] | None, str]:
    """The replay's frontier as a Plotly figure (inventory value against fill rate, one curve per policy, the tuned
    points marked), and a note; (None, how to produce it) when the file is missing or unreadable."""
    how = (
        "No policy replay yet. Produce it with `leanplan bench raf-inputs --receipts data/sample/receipts.csv "
        "--suppliers data/sample/suppliers.csv --out var/bench` then `leanplan bench policy --demand "
        f"var/bench/raf_demand.csv --items var/bench/raf_items.csv --json {path}` (part of `make bench`)."
    )
    try:
        result = json.loads(path.read_text())
    except (OSError, ValueError):
        return None, how
    curves = result.get("frontier") or {}
    if not curves:
        return None, f"{path} has no frontier; run `leanplan bench policy` with --frontier. " + how
    data: list[dict[str, Any]] = []
    for name, points in curves.items():
        points = [p for p in points if p[0] >= 0.8 and p[1] > 0]
        color = POLICY_COLORS.get(name, "#6b7280")
        data.append(
            {
                "type": "scatter", "mode": "lines+markers", "name": POLICY_NAMES.get(name, name),
                "x": [100 * p[0] for p in points], "y": [p[1] for p in points],
                "line": {"color": color, "width": 2}, "marker": {"size": 5},
                "hovertemplate": "fill %{x:.2f} %<br>inventory %{y:,.0f}<extra>%{fullData.name}</extra>",
            }
        )  # fmt: skip
        tuned = (result.get("policies") or {}).get(name)
        if tuned:
            data.append(
                {
                    "type": "scatter", "mode": "markers", "showlegend": False, "name": POLICY_NAMES.get(name, name),
                    "x": [100 * tuned["fill_rate"]], "y": [tuned["avg_inventory_value"]],
                    "marker": {"size": 12, "color": color, "symbol": "diamond", "line": {"color": "#fff", "width": 1}},
                    "hovertemplate": "tuned: fill %{x:.2f} %<br>inventory %{y:,.0f}<extra>%{fullData.name}</extra>",
                }
            )  # fmt: skip
    config = result.get("config") or {}
    layout = {
        "xaxis": {"title": {"text": "fill rate (%)"}, "ticksuffix": " %"},
        "yaxis": {"title": {"text": "average inventory value (log scale)"}, "type": "log"},
        "legend": {"orientation": "h", "y": 1.12},
    }
    note = (
        f"Replay of {config.get('skus', '?'):,} SKUs over {config.get('replay_periods', '?')} periods from "
        f"{config.get('replay_start', '?')}; diamonds mark each policy tuned to "
        f"{100 * float(config.get('target_fill_rate', 0.95)):.0f} % fill. Source: {path.name}."
    )
    return {"data": data, "layout": layout}, note


def overview(engine: Engine, home: Path) -> Overview:
    """The overview of the newest replenishment plan (and the frontier, when the replay has been run)."""
    with engine.connect() as conn:
        plans = replenishment_plans(conn, 2)
        items = int(conn.execute(select(func.count()).select_from(Item)).scalar() or 0)
    frontier, note = frontier_chart(home / FRONTIER_FILE)
    if not plans:
        return Overview(None, items=items, frontier=frontier, frontier_note=note)
    plan, previous = plans[0], (plans[1] if len(plans) > 1 else None)
    severity, top = _alerts(engine, plan.id)
    return Overview(plan, previous, items, _kpis(engine, plan, previous), severity, top, frontier, note)


__all__ = ["FRONTIER_FILE", "SEVERITIES", "Overview", "frontier_chart", "overview"]

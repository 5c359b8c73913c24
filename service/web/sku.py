"""The SKU page: demand history with the published forecast and its prediction intervals, champion model and
backtest metrics, the plan's policy, supplier reliability (lead-time histogram and on-time rate from receipts) and
the projected inventory over the horizon against the reorder point. A handful of indexed queries on one SKU.

Intervals are drawn from the quantile pairs the forecast set stores (p, 1 − p) and labelled with their true coverage:
the widest pair and, inside it, the one nearest to 80 %.

Public interface: `SkuPage`, `sku_page(engine, sku, tracking_uri)`, `intervals(levels)`, `projection(...)`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, func, select

from models.schema import quantile_of
from service.db.tables import (
    Alert,
    Demand,
    Forecast,
    Inventory,
    Item,
    OpenOrder,
    PlanLine,
    Receipt,
    SupplierOffer,
)
from service.web.fmt import version
from service.web.plans import PlanRef, replenishment_plan
from service.web.render import plotly_text

BLUE, BAND_OUTER, BAND_INNER, GREY = "#2563eb", "rgba(37,99,235,0.13)", "rgba(37,99,235,0.26)", "#64748b"


@dataclass
class SkuPage:
    """What the SKU page shows (missing parts are None or empty)."""

    sku: str
    item: dict[str, Any] | None
    plan: PlanRef | None = None
    line: dict[str, Any] | None = None
    alerts: list[dict[str, Any]] = field(default_factory=list)
    champion: dict[str, Any] | None = None
    model_version: str | None = None
    history_periods: int = 0
    demand_chart: dict[str, Any] | None = None
    interval_labels: list[str] = field(default_factory=list)
    offers: list[dict[str, Any]] = field(default_factory=list)
    receipts: dict[str, Any] = field(default_factory=dict)
    lead_chart: dict[str, Any] | None = None
    lead_note: str = ""
    projection_chart: dict[str, Any] | None = None
    projection_note: str = ""
    stock: dict[str, Any] | None = None
    matches: list[str] = field(default_factory=list)


def intervals(levels: list[float]) -> list[tuple[float, float]]:
    """Symmetric quantile pairs (p, 1 − p) to draw, widest first: the widest, then the one nearest 80 % coverage."""
    have = {round(p, 6) for p in levels}
    pairs = sorted({(p, round(1 - p, 6)) for p in have if p < 0.5 and round(1 - p, 6) in have})
    if not pairs:
        return []
    widest = pairs[0]
    inner = min(pairs[1:], key=lambda pq: abs((pq[1] - pq[0]) - 0.8), default=None)
    return [widest, inner] if inner else [widest]


def _coverage(pair: tuple[float, float]) -> str:
    return f"{100 * (pair[1] - pair[0]):.0f} % interval (q{pair[0]:g}–q{pair[1]:g})"


def _demand_chart(history: pd.DataFrame, forecast: pd.DataFrame) -> tuple[dict[str, Any] | None, list[str]]:
    if history.empty and forecast.empty:
        return None, []
    data: list[dict[str, Any]] = []
    labels: list[str] = []
    if not forecast.empty:
        levels = [p for p in (quantile_of(c) for c in forecast.columns if c.startswith("q")) if p is not None]
        for pair, fill in zip(intervals(levels), (BAND_OUTER, BAND_INNER), strict=False):
            lo, hi = forecast[f"q{pair[0]:g}"], forecast[f"q{pair[1]:g}"]
            label = _coverage(pair)
            labels.append(label)
            x = list(forecast["date"]) + list(forecast["date"][::-1])
            data.append(
                {
                    "type": "scatter", "x": x, "y": list(hi) + list(lo[::-1]), "fill": "toself", "fillcolor": fill,
                    "line": {"width": 0}, "name": label, "hoverinfo": "skip",
                }
            )  # fmt: skip
    if not history.empty:
        data.append(
            {
                "type": "bar", "x": list(history["date"]), "y": list(history["qty"]), "name": "demand",
                "marker": {"color": "#94a3b8"}, "hovertemplate": "%{x|%b %Y}: %{y:,.0f} units<extra></extra>",
            }
        )  # fmt: skip
    if not forecast.empty:
        data.append(
            {
                "type": "scatter", "mode": "lines+markers", "x": list(forecast["date"]), "y": list(forecast["mean"]),
                "name": "forecast (mean)", "line": {"color": BLUE, "width": 2.5}, "marker": {"size": 4},
                "hovertemplate": "%{x|%b %Y}: %{y:,.1f} units expected<extra></extra>",
            }
        )  # fmt: skip
    start = None
    if not history.empty:
        first = history["date"].iloc[max(0, len(history) - 48)]
        end = forecast["date"].iloc[-1] if not forecast.empty else history["date"].iloc[-1]
        start = [str(first), str(pd.Timestamp(end) + pd.DateOffset(days=20))]
    layout = {
        "barmode": "overlay", "bargap": 0.25,
        "xaxis": {"type": "date", **({"range": start} if start else {})},
        "yaxis": {"title": {"text": "units per period"}, "rangemode": "tozero"},
        "legend": {"orientation": "h", "y": 1.14},
    }  # fmt: skip
    return {"data": data, "layout": layout}, labels


def projection(
    as_of: dt.date,
    stock: float,
    arrivals: list[tuple[dt.date, float]],
    demand: list[tuple[dt.date, float]],
) -> tuple[list[dt.date], list[float], list[tuple[dt.date, float, float]]]:
    """Projected stock (on hand − backorders) from `as_of`: each period's expected demand (`demand`: period start,
    units) used up evenly over the period, receipts (`arrivals`: date, units) added on their day. Returns the
    points of the line (a vertical step at each receipt) and the receipts drawn (date, units, level after)."""
    dates, levels, shown = [as_of], [stock], []
    level, pending = stock, sorted(a for a in arrivals if a[0] >= as_of)
    for i, (start, qty) in enumerate(demand):
        begin = max(start, as_of)
        end = demand[i + 1][0] if i + 1 < len(demand) else start + dt.timedelta(days=30)
        if end <= begin:
            continue
        rate = qty / max((end - start).days, 1)
        at = begin
        while pending and pending[0][0] < end:
            day, units = pending.pop(0)
            day = max(day, begin)
            level -= rate * (day - at).days
            dates.append(day)
            levels.append(level)
            level += units
            dates.append(day)
            levels.append(level)
            shown.append((day, units, level))
            at = day
        level -= rate * (end - at).days
        dates.append(end)
        levels.append(level)
    return dates, levels, shown


def _projection_chart(
    conn: Connection,
    sku: str,
    plan: PlanRef,
    line: dict[str, Any],
    forecast: pd.DataFrame,
    model_version: str | None,
    stock: float,
) -> tuple[dict[str, Any] | None, str]:
    as_of = plan.as_of or dt.date.today()
    opens = conn.execute(
        select(OpenOrder.due_date, OpenOrder.qty).where(OpenOrder.sku == sku, OpenOrder.due_date >= as_of)
    ).all()
    arrivals = [(d, float(q)) for d, q in opens]
    if line.get("order_qty") and line.get("expected_arrival"):
        arrivals.append((line["expected_arrival"], float(line["order_qty"])))
    future = forecast[forecast["date"].dt.date >= as_of] if not forecast.empty else forecast
    if not future.empty:
        demand = [(d.date(), float(m)) for d, m in zip(future["date"], future["mean"], strict=True)]
        source = f"forecast {version(model_version)} mean"
    elif line.get("demand_per_period"):
        starts = pd.date_range(pd.Timestamp(as_of), periods=12, freq="MS")
        demand = [(d.date(), float(line["demand_per_period"])) for d in starts]
        source = "mean demand per period of the plan (no forecast)"
    else:
        return None, "No demand expected: nothing to project."
    dates, levels, received = projection(as_of, stock, arrivals, demand)
    data: list[dict[str, Any]] = [
        {
            "type": "scatter", "mode": "lines", "x": dates, "y": levels, "name": "projected stock",
            "line": {"color": BLUE, "width": 2.5},
            "fill": "tozeroy", "fillcolor": "rgba(37,99,235,0.08)",
            "hovertemplate": "%{x|%d %b %Y}: %{y:,.1f} units<extra></extra>",
        }
    ]  # fmt: skip
    for name, value, color, dash in (
        ("reorder point", line.get("reorder_point"), "#dc2626", "dash"),
        ("safety stock", line.get("safety_stock"), "#d97706", "dot"),
    ):
        if value is not None:
            data.append(
                {
                    "type": "scatter", "mode": "lines", "x": [dates[0], dates[-1]], "y": [value, value],
                    "name": f"{name} {value:,.1f}", "line": {"color": color, "width": 1.6, "dash": dash},
                    "hoverinfo": "skip",
                }
            )  # fmt: skip
    if received:
        data.append(
            {
                "type": "scatter", "mode": "markers", "x": [d for d, _, _ in received],
                "y": [level for _, _, level in received], "name": "receipts due",
                "text": [f"{q:,.0f} units arrive" for _, q, _ in received],
                "marker": {"symbol": "triangle-up", "size": 11, "color": "#059669"},
                "hovertemplate": "%{x|%d %b %Y}: %{text}<extra></extra>",
            }
        )  # fmt: skip
    layout = {
        "xaxis": {"type": "date"}, "yaxis": {"title": {"text": "units"}},
        "legend": {"orientation": "h", "y": 1.16},
    }  # fmt: skip
    note = (
        f"From {stock:,.0f} units (on hand − backorders) on {as_of}: receipts due (open orders"
        + (" and this plan's order" if line.get("order_qty") else "")
        + f") added, expected demand ({source}) taken."
    )
    return {"data": data, "layout": layout}, note


def _lead_days(rows: Sequence[Any]) -> list[int]:
    return [(r.received_date - r.order_date).days for r in rows]


def _receipts(conn: Connection, sku: str, supplier: str | None) -> dict[str, Any]:
    """Lead times and on-time rates of received orders: this SKU's, and its primary supplier's over all its SKUs."""
    columns = (Receipt.sku, Receipt.supplier_id, Receipt.order_date, Receipt.promised_date, Receipt.received_date)
    rows = conn.execute(select(*columns).where(Receipt.sku == sku, Receipt.received_date.is_not(None))).all()
    lead = _lead_days(rows)
    out: dict[str, Any] = {
        "n": len(rows),
        "lead_times": lead,
        "on_time_rate": sum(r.received_date <= r.promised_date for r in rows) / len(rows) if rows else None,
        "lead_mean": float(np.mean(lead)) if lead else None,
        "lead_p90": float(np.percentile(lead, 90)) if lead else None,
        "supplier": supplier,
        "supplier_n": 0,
        "supplier_lead_times": [],
        "supplier_on_time_rate": None,  # a supplier without received orders shows '—', not a 500
        "supplier_lead_mean": None,
    }
    if supplier:
        theirs = conn.execute(
            select(*columns).where(Receipt.supplier_id == supplier, Receipt.received_date.is_not(None))
        ).all()
        out["supplier_n"] = len(theirs)
        out["supplier_lead_times"] = _lead_days(theirs)
        if theirs:
            out["supplier_on_time_rate"] = sum(r.received_date <= r.promised_date for r in theirs) / len(theirs)
            out["supplier_lead_mean"] = float(np.mean(out["supplier_lead_times"]))
    return out


OWN_HISTOGRAM = 8  # receipts of the SKU itself from which its own histogram is shown


def _lead_chart(sku: str, receipts: dict[str, Any], nominal: float | None) -> tuple[dict[str, Any] | None, str]:
    """Histogram of received lead times: the SKU's own when it has enough receipts, else its supplier's over all
    SKUs with the SKU's receipts marked; the quoted lead time as a dashed line."""
    own, theirs = receipts["lead_times"], receipts["supplier_lead_times"]
    shown = own if len(own) >= OWN_HISTOGRAM or not theirs else theirs
    if not shown:
        return None, ""
    values = [*shown, *own, *([nominal] if nominal is not None else [])]
    low, high = min(values), max(values)
    size = max(1.0, float(np.ceil((high - low + 1) / 25)))
    start = float(np.floor(low / size) * size) - size
    data: list[dict[str, Any]] = [
        {
            "type": "histogram", "x": shown, "name": "receipts", "marker": {"color": "#0d9488"},
            "xbins": {"start": start, "end": high + 2 * size, "size": size},
            "hovertemplate": "%{x} days: %{y} receipt(s)<extra></extra>",
        }
    ]  # fmt: skip
    if shown is theirs and own:
        data.append(
            {
                "type": "scatter", "mode": "markers", "x": own, "y": [0] * len(own), "name": f"{sku} receipts",
                "marker": {"symbol": "diamond", "size": 11, "color": "#7c3aed", "line": {"color": "#fff", "width": 1}},
                "hovertemplate": f"{plotly_text(sku)}: %{{x}} days<extra></extra>", "cliponaxis": False,
            }
        )  # fmt: skip
    layout: dict[str, Any] = {
        "xaxis": {"title": {"text": "lead time (days, order → receipt)"}, "range": [start, high + 2 * size]},
        "yaxis": {"title": {"text": "receipts"}, "rangemode": "tozero"}, "bargap": 0.06,
        "showlegend": shown is theirs and bool(own), "legend": {"orientation": "h", "y": 1.14},
    }  # fmt: skip
    if nominal is not None:
        layout["shapes"] = [
            {
                "type": "line", "x0": nominal, "x1": nominal, "yref": "paper", "y0": 0, "y1": 1,
                "line": {"color": "#dc2626", "dash": "dash", "width": 1.5},
            }
        ]  # fmt: skip
        layout["annotations"] = [
            {"x": nominal, "yref": "paper", "y": 1.0, "yanchor": "bottom", "text": f"quoted {nominal:,.0f} d",
             "showarrow": False, "font": {"color": "#dc2626", "size": 11}}
        ]  # fmt: skip
    if shown is own:
        return {"data": data, "layout": layout}, f"{len(own):,} receipts of {sku}."
    note = f"{receipts['supplier']}'s {len(theirs):,} receipts over all its SKUs"
    note += f"; {sku}'s own {len(own)} marked ◆." if own else f"; none of {sku} yet."
    return {"data": data, "layout": layout}, note


def _champion(conn: Connection, sku: str, tracking_uri: str) -> tuple[str | None, dict[str, Any] | None]:
    from service.db.forecasts import published_set
    from service.skus import CHAMPIONS

    row = published_set(conn)
    if row is None:
        return None, None
    table = CHAMPIONS.get(row.model_version, row.info, tracking_uri) or {}
    return row.model_version, table.get(sku)


def find_skus(conn: Connection, text: str, limit: int = 20) -> list[str]:
    """SKUs starting with `text` (case-insensitive), in order."""
    pattern = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").lower() + "%"
    return list(
        conn.execute(
            select(Item.sku).where(func.lower(Item.sku).like(pattern, escape="\\")).order_by(Item.sku).limit(limit)
        ).scalars()
    )


def sku_page(engine: Engine, sku: str, tracking_uri: str) -> SkuPage:
    """Everything the SKU page shows; `item` is None (and `matches` lists near SKUs) when the SKU is unknown."""
    with engine.connect() as conn:
        item = conn.execute(select(*Item.__table__.c).where(Item.sku == sku)).mappings().first()
        if item is None:
            return SkuPage(sku, None, matches=find_skus(conn, sku[:4]))
        page = SkuPage(sku, dict(item))
        page.plan = plan = replenishment_plan(conn)
        if plan is not None:
            line = conn.execute(
                select(*PlanLine.__table__.c).where(PlanLine.plan_id == plan.id, PlanLine.sku == sku)
            ).mappings().first()  # fmt: skip
            page.line = dict(line) if line else None
            page.alerts = [
                dict(a)
                for a in conn.execute(
                    select(Alert.type, Alert.severity, Alert.value_at_risk, Alert.message, Alert.action)
                    .where(Alert.plan_id == plan.id, Alert.sku == sku)
                    .order_by(Alert.value_at_risk.desc())
                ).mappings()
            ]
        history = pd.DataFrame(
            conn.execute(select(Demand.date, Demand.qty).where(Demand.sku == sku).order_by(Demand.date)).all(),
            columns=["date", "qty"],
        )
        page.history_periods = len(history)
        page.model_version, page.champion = _champion(conn, sku, tracking_uri)
        forecast = pd.DataFrame()
        if page.model_version is not None:
            rows = conn.execute(
                select(Forecast.date, Forecast.mean, Forecast.quantiles)
                .where(Forecast.model_version == page.model_version, Forecast.sku == sku)
                .order_by(Forecast.date)
            ).all()
            forecast = pd.DataFrame([{"date": r.date, "mean": r.mean, **(r.quantiles or {})} for r in rows])
        for frame in (history, forecast):
            if not frame.empty:
                frame["date"] = pd.to_datetime(frame["date"])
        page.demand_chart, page.interval_labels = _demand_chart(history, forecast)
        page.offers = [
            dict(o)
            for o in conn.execute(
                select(SupplierOffer.supplier_id, SupplierOffer.supplier_name, SupplierOffer.unit_price,
                       SupplierOffer.moq, SupplierOffer.lot_multiple, SupplierOffer.nominal_lead_time_days)
                .where(SupplierOffer.sku == sku).order_by(SupplierOffer.unit_price)
            ).mappings()
        ]  # fmt: skip
        primary = (page.line or {}).get("supplier_id") or (page.offers[0]["supplier_id"] if page.offers else None)
        page.receipts = _receipts(conn, sku, primary)
        nominal = next((o["nominal_lead_time_days"] for o in page.offers if o["supplier_id"] == primary), None)
        page.lead_chart, page.lead_note = _lead_chart(sku, page.receipts, nominal)
        inv = conn.execute(
            select(Inventory.as_of, Inventory.on_hand, Inventory.backorders)
            .where(Inventory.sku == sku)
            .order_by(Inventory.as_of.desc())
            .limit(1)
        ).mappings().first()  # fmt: skip
        page.stock = dict(inv) if inv else None
        if plan is not None and page.line is not None:
            stock = float(page.line["on_hand"] or 0) - float(page.line["backorders"] or 0)
            page.projection_chart, page.projection_note = _projection_chart(
                conn, sku, plan, page.line, forecast, page.model_version, stock
            )
    return page


__all__ = ["SkuPage", "find_skus", "intervals", "projection", "sku_page"]

"""The SKU view: item master, class, champion model, policy, supplier reliability and alerts, one query per part.

- **class and policy** come from the latest done or approved plan's line (`plan_lines`); **open alerts** are that
  plan's alerts (each plan recomputes them, so older plans' alerts are history).
- **champion** (model and backtest metrics per SKU) belongs to the published forecast set's model version: read from
  `ForecastSet.info["champions"]` when the set carries it (see `champion_records`), else from the training run's
  `report/champions.csv` in MLflow; cached per model version in this process (a version's champions never change).
- **supplier reliability** (detail only): `optimizer.suppliers` over the receipts of the suppliers offering the SKU.

Public interface: `SkuFilter`, `SkuNotFound`, `BadCursor`, `list_skus`, `sku_detail`, `champion_records`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, Select, and_, exists, func, or_, select

from optimizer.replenishment import LINE_COLUMNS
from optimizer.suppliers import supplier_reliability
from service.db.tables import (
    Alert,
    Demand,
    Inventory,
    Item,
    PlanLine,
    Receipt,
    SupplierOffer,
)
from service.whatif import latest_plan

log = logging.getLogger(__name__)

#: per-SKU champion fields kept from a training run's champions table
CHAMPION_FIELDS = ["champion", "class_champion", "calibration", "members", "rmsse", "mase", "wape", "bias", "pinball"]
POLICY_FIELDS = ["supplier_id", "service_target", "safety_stock", "reorder_point", "order_up_to", "order_qty"]
#: the stored plan line of a SKU, without the key, the class columns (shown apart) and the evidence
DETAIL_POLICY_FIELDS = [c for c in LINE_COLUMNS if c not in ("sku", "abc", "xyz", "pattern", "details")]
RECENT_PERIODS = 12
_RETRY_SECONDS = 60.0


class SkuNotFound(LookupError):
    def __init__(self, sku: str) -> None:
        super().__init__(f"SKU {sku!r} not found; list SKUs with GET /v1/skus")


class BadCursor(ValueError):
    def __init__(self) -> None:
        super().__init__("cursor is not valid; pass the next_cursor of the previous page unchanged")


@dataclass(frozen=True)
class SkuFilter:
    """Filters of the SKU list (None: any)."""

    abc: str | None = None
    xyz: str | None = None
    pattern: str | None = None
    supplier: str | None = None
    make_or_buy: str | None = None
    has_alert: bool | None = None
    search: str | None = None
    cursor: str | None = None
    limit: int = 100


def encode_cursor(sku: str) -> str:
    return base64.urlsafe_b64encode(sku.encode()).rstrip(b"=").decode()


def decode_cursor(text: str) -> str:
    try:
        sku = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadCursor() from None
    if not sku:
        raise BadCursor()
    return sku


def _value(value: Any) -> Any:
    """JSON-safe: NaN/inf → None, dates → ISO strings, numpy scalars → Python."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


# --- champions -------------------------------------------------------------------------------------------------


def champion_records(champions: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """A training run's champions table (index sku) as the JSON `ForecastSet.info["champions"]` holds."""
    table = champions[[c for c in CHAMPION_FIELDS if c in champions.columns]]
    return {str(sku): {str(k): _jsonable(v) for k, v in row.items()} for sku, row in table.iterrows()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return _jsonable(value.tolist())
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return _value(value)


class _ChampionCache:
    """Champions per model version, loaded once per process (failures retried after a minute)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tables: dict[tuple[str, str], dict[str, dict[str, Any]] | None] = {}
        self._failed: dict[tuple[str, str], float] = {}

    def get(self, version: str, info: dict[str, Any] | None, tracking_uri: str) -> dict[str, dict[str, Any]] | None:
        key = (tracking_uri, version)
        if key in self._tables:
            return self._tables[key]
        if time.monotonic() - self._failed.get(key, -math.inf) < _RETRY_SECONDS:
            return None
        with self._lock:
            if key in self._tables:
                return self._tables[key]
            table = _load_champions(info or {}, tracking_uri)
            if table is None:
                self._failed[key] = time.monotonic()
            else:
                self._tables[key] = table
            return table


def _load_champions(info: dict[str, Any], tracking_uri: str) -> dict[str, dict[str, Any]] | None:
    stored = info.get("champions")
    if isinstance(stored, dict):
        return {str(k): dict(v) for k, v in stored.items()}
    run_id = info.get("mlflow_run_id") or info.get("run_id")
    if not run_id:
        return None
    try:
        import mlflow

        path = mlflow.artifacts.download_artifacts(
            run_id=str(run_id), artifact_path="report/champions.csv", tracking_uri=tracking_uri
        )
        table = pd.read_csv(path, index_col="sku", dtype={"sku": str})
    except Exception:  # MLflow unreachable or the run lacks the report: champions stay unknown, the rest answers
        log.warning("champions of run %s not readable from %s", run_id, tracking_uri, exc_info=True)
        return None
    if "members" in table.columns:
        table["members"] = pd.Series(
            [m.split(",") if isinstance(m, str) and m else None for m in table["members"]], index=table.index
        )
    return champion_records(table)


CHAMPIONS = _ChampionCache()


def _champions(conn: Connection, tracking_uri: str) -> tuple[str | None, dict[str, dict[str, Any]]]:
    from service.db.forecasts import published_set

    row = published_set(conn)
    if row is None:
        return None, {}
    return row.model_version, CHAMPIONS.get(row.model_version, row.info, tracking_uri) or {}


def _champion_of(table: dict[str, dict[str, Any]], version: str | None, sku: str) -> dict[str, Any] | None:
    record = table.get(sku)
    if version is None:
        return None
    out: dict[str, Any] = {"model_version": version, "model": None, "metrics": None}
    if record:
        out["model"] = record.get("champion")
        out["class_champion"] = record.get("class_champion")
        out["calibration"] = record.get("calibration")
        out["members"] = record.get("members")
        out["metrics"] = {m: _value(record.get(m)) for m in ("pinball", "rmsse", "mase", "wape", "bias")}
    return out


# --- list ------------------------------------------------------------------------------------------------------


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.lower() + "%"


def _list_statement(plan_id: str | None, f: SkuFilter) -> Select[Any]:
    alerts = select(Alert.sku, func.count().label("n")).where(Alert.plan_id == plan_id).group_by(Alert.sku).subquery()
    line = PlanLine.__table__.alias("line")
    query = (
        select(
            Item.sku,
            Item.name,
            Item.family,
            Item.make_or_buy,
            Item.unit_cost,
            line.c.abc,
            line.c.xyz,
            line.c.pattern,
            *(line.c[c] for c in POLICY_FIELDS),
            func.coalesce(alerts.c.n, 0).label("open_alerts"),
        )
        .outerjoin(line, and_(line.c.plan_id == plan_id, line.c.sku == Item.sku))
        .outerjoin(alerts, alerts.c.sku == Item.sku)
    )
    if f.cursor is not None:
        query = query.where(Item.sku > decode_cursor(f.cursor))
    for column, value in ((line.c.abc, f.abc), (line.c.xyz, f.xyz), (line.c.pattern, f.pattern)):
        if value is not None:
            query = query.where(column == value)
    if f.make_or_buy is not None:
        query = query.where(Item.make_or_buy == f.make_or_buy)
    if f.supplier is not None:
        query = query.where(exists().where(SupplierOffer.sku == Item.sku, SupplierOffer.supplier_id == f.supplier))
    if f.has_alert is not None:
        query = query.where(alerts.c.n.is_not(None) if f.has_alert else alerts.c.n.is_(None))
    if f.search:
        pattern = _like_prefix(f.search)
        query = query.where(
            or_(func.lower(Item.sku).like(pattern, escape="\\"), func.lower(Item.name).like(pattern, escape="\\"))
        )
    return query.order_by(Item.sku).limit(f.limit + 1)


def list_skus(engine: Engine, f: SkuFilter, tracking_uri: str) -> dict[str, Any]:
    """A page of SKUs in SKU order with class, champion, policy and open alert count; `next_cursor` continues it."""
    with engine.connect() as conn:
        plan = latest_plan(conn)
        plan_id = plan.id if plan is not None else None
        rows = conn.execute(_list_statement(plan_id, f)).mappings().all()
        version, champions = _champions(conn, tracking_uri)
    more = len(rows) > f.limit
    rows = rows[: f.limit]
    items = []
    for r in rows:
        champion = champions.get(r["sku"]) or {}
        items.append(
            {
                "sku": r["sku"],
                "name": r["name"],
                "family": r["family"],
                "make_or_buy": r["make_or_buy"],
                "unit_cost": _value(r["unit_cost"]),
                "class": {"abc": r["abc"], "xyz": r["xyz"], "pattern": r["pattern"]},
                "champion": champion.get("champion"),
                "policy": {c: _value(r[c]) for c in POLICY_FIELDS},
                "open_alerts": int(r["open_alerts"]),
            }
        )
    return {
        "plan_id": plan_id,
        "model_version": version,
        "items": items,
        "next_cursor": encode_cursor(rows[-1]["sku"]) if more and rows else None,
    }


# --- detail ----------------------------------------------------------------------------------------------------


def _frame(conn: Connection, query: Any) -> pd.DataFrame:
    result = conn.execute(query)
    return pd.DataFrame(result.all(), columns=list(result.keys()))


def _suppliers(conn: Connection, sku: str, as_of: pd.Timestamp, primary: str | None) -> list[dict[str, Any]]:
    """Each offer of the SKU with its reliability: the offer's (shrunk toward its supplier's) and the supplier's."""
    offers = _frame(conn, select(*SupplierOffer.__table__.c).where(SupplierOffer.sku == sku))
    if offers.empty:
        return []
    receipts = _frame(
        conn, select(*Receipt.__table__.c).where(Receipt.supplier_id.in_(sorted(set(offers["supplier_id"]))))
    )
    rel = supplier_reliability(receipts, offers, as_of)
    per_offer: dict[Any, Any] = rel.offers.set_index("supplier_id").to_dict("index")
    per_supplier: dict[Any, Any] = rel.suppliers.set_index("supplier_id").to_dict("index")
    lead = pd.Series(dtype=float)
    if not receipts.empty:
        got = receipts[receipts["received_date"].notna() & (receipts["sku"] == sku)]
        lead = pd.Series(
            (pd.to_datetime(got["received_date"]) - pd.to_datetime(got["order_date"])).dt.days.to_numpy(dtype=float),
            index=got["supplier_id"].to_numpy(),
        )
    out = []
    for offer in offers.sort_values("supplier_id").to_dict("records"):
        o, s = per_offer[offer["supplier_id"]], per_supplier[offer["supplier_id"]]
        mine = lead[lead.index == offer["supplier_id"]] if not lead.empty else lead
        out.append(
            {
                "supplier_id": offer["supplier_id"],
                "supplier_name": offer["supplier_name"],
                "primary": offer["supplier_id"] == primary,
                "unit_price": _value(offer["unit_price"]),
                "moq": _value(offer["moq"]),
                "lot_multiple": _value(offer["lot_multiple"]),
                "nominal_lead_time_days": _value(offer["nominal_lead_time_days"]),
                "receipts": int(o["receipts"]),
                "on_time_rate": _value(o["on_time_rate"]),
                "lead_time_mean_days": _value(o["lead_time_mean_days"]),
                "lead_time_std_days": _value(o["lead_time_std_days"]),
                "lead_time_points_days": [_value(o[c]) for c in rel.point_columns],
                "observed_lead_time_days": _percentiles(mine),
                "supplier": {
                    "receipts": int(s["receipts"]),
                    "on_time_rate": _value(s["on_time_rate"]),
                    "qty_fill_rate": _value(s["qty_fill_rate"]),
                    "lateness_mean_days": _value(s["lateness_mean_days"]),
                    "lateness_p90_days": _value(s["lateness_p90_days"]),
                    "lead_time_mean_days": _value(s["lead_time_mean_days"]),
                    "degrading": bool(s["degrading"]),
                },
            }
        )
    return out


def _percentiles(days: pd.Series) -> dict[str, Any] | None:
    """Received − ordered (days) of this SKU's receipts from one supplier."""
    if days.empty:
        return None
    q = days.quantile([0.1, 0.5, 0.9])
    return {
        "n": len(days),
        "mean": _value(days.mean()),
        "std": _value(days.std()) if len(days) > 1 else None,
        "p10": _value(q.loc[0.1]),
        "p50": _value(q.loc[0.5]),
        "p90": _value(q.loc[0.9]),
    }


def _demand_summary(conn: Connection, sku: str) -> dict[str, Any]:
    stats = conn.execute(
        select(func.count(), func.min(Demand.date), func.max(Demand.date), func.sum(Demand.qty)).where(
            Demand.sku == sku
        )
    ).one()
    recent = conn.execute(
        select(Demand.date, Demand.qty).where(Demand.sku == sku).order_by(Demand.date.desc()).limit(RECENT_PERIODS)
    ).all()
    qty = [float(r.qty) for r in reversed(recent)]
    return {
        "periods": int(stats[0]),
        "first_date": _value(stats[1]),
        "last_date": _value(stats[2]),
        "total_qty": _value(stats[3]),
        "recent": [{"date": _value(r.date), "qty": float(r.qty)} for r in reversed(recent)],
        "recent_mean": sum(qty) / len(qty) if qty else None,
        "recent_nonzero_periods": sum(1 for q in qty if q > 0),
    }


def sku_detail(engine: Engine, sku: str, tracking_uri: str) -> dict[str, Any]:
    """Everything about one SKU (raises `SkuNotFound`)."""
    with engine.connect() as conn:
        item = conn.execute(select(*Item.__table__.c).where(Item.sku == sku)).mappings().first()
        if item is None:
            raise SkuNotFound(sku)
        plan = latest_plan(conn, [sku])
        line = None
        alerts: list[dict[str, Any]] = []
        if plan is not None:
            line = (
                conn.execute(select(*PlanLine.__table__.c).where(PlanLine.plan_id == plan.id, PlanLine.sku == sku))
                .mappings()
                .first()
            )
            alerts = [
                {k: _value(v) for k, v in a.items()}
                for a in conn.execute(
                    select(Alert.id, Alert.type, Alert.severity, Alert.supplier_id, Alert.value_at_risk, Alert.message,
                           Alert.action)
                    .where(Alert.plan_id == plan.id, Alert.sku == sku)
                    .order_by(Alert.value_at_risk.desc(), Alert.id)
                ).mappings()
            ]  # fmt: skip
        stock = (
            conn.execute(
                select(Inventory.as_of, Inventory.on_hand, Inventory.backorders)
                .where(Inventory.sku == sku)
                .order_by(Inventory.as_of.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        version, champions = _champions(conn, tracking_uri)
        as_of = pd.Timestamp(plan.as_of) if plan is not None and plan.as_of else None
        if as_of is None:
            latest = conn.execute(select(func.max(Inventory.as_of))).scalar()
            as_of = pd.Timestamp(latest) if latest is not None else pd.Timestamp(dt.date.today())
        suppliers = _suppliers(conn, sku, as_of, line["supplier_id"] if line else None)
        demand = _demand_summary(conn, sku)
    details = (line["details"] or {}) if line else {}
    return {
        "sku": sku,
        "item": {k: _value(v) for k, v in item.items()},
        "plan_id": plan.id if plan is not None else None,
        "as_of": as_of.date().isoformat(),
        "class": {"abc": line["abc"], "xyz": line["xyz"], "pattern": line["pattern"]} if line else None,
        "champion": _champion_of(champions, version, sku),
        "policy": (
            {
                **{c: _value(line[c]) for c in DETAIL_POLICY_FIELDS},
                "expected_capital": _value(details.get("expected_capital")),
                "demand_source": details.get("demand_source"),
                "splits": details.get("splits", []),
            }
            if line
            else None
        ),
        "suppliers": suppliers,
        "open_alerts": alerts,
        "inventory": {k: _value(v) for k, v in stock.items()} if stock else None,
        "demand": demand,
    }


__all__ = ["BadCursor", "SkuFilter", "SkuNotFound", "champion_records", "list_skus", "sku_detail"]

"""Plans as the API serves them: create a pending plan, read a plan's header and provenance, its replenishment
lines, schedule operations and alerts (paged), export them as CSV or XLSX bytes, and approve a plan.

Plans are created, computed and stored by `service.planning.lifecycle`, whatever their kind and entry point (CLI,
API); plans stored under the earlier id schemes (`rp-…`, `pp-…`) read the same way.

Public interface: `PlanNotFound`, `PlanNotReady`, `BadCursor`, `Page`, `create`,
`get_plan`, `require_plan`, `list_plans`, `kind_of`, `replenishment_page`, `schedule_page`, `alerts_page`,
`latest_plan_id`, `export_csv`, `export_xlsx`, `approve`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
import json
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Engine, func, select, tuple_, update

from service.db.tables import Alert, Plan, PlanLine, PlannedOrder, ScheduledOperation
from service.spreadsheet_safety import excel_writer, to_csv_bytes

DONE = ("done", "approved")
DEFAULT_LIMIT = 500
MAX_LIMIT = 10_000
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}

_PLAN_COLUMNS = (
    Plan.id,
    Plan.status,
    Plan.as_of,
    Plan.model_version,
    Plan.params,
    Plan.summary,
    Plan.created_at,
    Plan.approved_at,
    Plan.approved_by,
)
_LINE_COLUMNS = [c for c in PlanLine.__table__.columns if c.name != "plan_id"]
_OP_COLUMNS = [c for c in ScheduledOperation.__table__.columns if c.name != "plan_id"]
_ALERT_COLUMNS = [c for c in Alert.__table__.columns if c.name != "plan_id"]


class PlanNotFound(LookupError):
    """No plan with that id."""

    def __init__(self, plan_id: str) -> None:
        super().__init__(f"plan {plan_id!r} not found; list plans with GET /v1/plans")


class PlanNotReady(Exception):
    """The plan is pending, running or failed: it has no rows to read yet (or ever)."""

    def __init__(self, plan_id: str, status: str, error: str | None = None) -> None:
        if status == "failed":
            text = f"plan {plan_id!r} failed ({error or 'no details'}); compute a new one with POST /v1/plans"
        else:
            text = f"plan {plan_id!r} is {status}, not done yet; poll GET /v1/plans/{plan_id} until its status is done"
        super().__init__(text)
        self.status = status


class BadCursor(ValueError):
    """The cursor is not one this API handed out."""

    def __init__(self) -> None:
        super().__init__("cursor is not valid; pass the next_cursor of the previous page unchanged")


@dataclass(frozen=True)
class Page:
    """Rows of one page (dicts, each with plan_id and model_version) and the cursor of the next page (or None)."""

    plan_id: str
    model_version: str | None
    rows: list[dict[str, Any]]
    next_cursor: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id,
            "model_version": self.model_version,
            "count": len(self.rows),
            "next_cursor": self.next_cursor,
            "rows": self.rows,
        }


def create(engine: Engine, request: dict[str, Any], kind: str = "plan") -> str:
    """Insert a pending plan of `kind` holding the request; returns its id (see `service.planning.lifecycle`)."""
    from service.planning.lifecycle import create as create_plan

    return create_plan(engine, kind, request)


def kind_of(params: dict[str, Any] | None) -> str:
    """The plan's kind (`service.planning.kinds`); plans stored without one are replenishment plans."""
    kind = (params or {}).get("kind")
    return str(kind) if kind else "replenishment"


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def _without_orders(summary: dict[str, Any] | None) -> dict[str, Any] | None:
    """The summary without the stored production orders (kept for rescheduling; long)."""
    if summary is None:
        return None
    out = {k: v for k, v in summary.items() if k != "orders"}
    if isinstance(out.get("production"), dict):
        out["production"] = {k: v for k, v in out["production"].items() if k != "orders"}
    return out


def _header(row: Any) -> dict[str, Any]:
    params = row.params or {}
    kind = kind_of(params)
    summary = row.summary or {}
    has_schedule = kind == "production" or (kind == "plan" and summary.get("production") is not None)
    has_lines = kind in ("plan", "replenishment")
    links = {"self": f"/v1/plans/{row.id}"}
    if has_lines:
        links["replenishment"] = f"/v1/plans/{row.id}/replenishment"
        links["alerts"] = f"/v1/alerts?plan_id={row.id}"
    if kind == "mrp":
        links["planned_orders"] = f"/v1/plans/{row.id}/planned-orders"
        links["pegging"] = f"/v1/plans/{row.id}/pegging"
        links["alerts"] = f"/v1/alerts?plan_id={row.id}"
    if has_schedule or (kind == "plan" and row.status not in DONE and (params.get("request") or {}).get("schedule")):
        links["schedule"] = f"/v1/plans/{row.id}/schedule"
    return {
        "id": row.id,
        "kind": kind,
        "status": row.status,
        "as_of": row.as_of,
        "model_version": row.model_version,
        "created_at": _aware(row.created_at),
        "approved_at": _aware(row.approved_at),
        "approved_by": row.approved_by,
        "job_id": params.get("job_id"),
        "error": summary.get("error") if row.status == "failed" else None,
        "links": links,
    }


def get_plan(engine: Engine, plan_id: str) -> dict[str, Any] | None:
    """The plan header with `params` (provenance) and `summary`, or None."""
    if "\x00" in plan_id:  # no id holds one (and Postgres text cannot)
        return None
    with engine.connect() as conn:
        row = conn.execute(select(*_PLAN_COLUMNS).where(Plan.id == plan_id)).first()
    if row is None:
        return None
    return {**_header(row), "params": row.params, "summary": _without_orders(row.summary)}


def require_plan(engine: Engine, plan_id: str, done: bool = False) -> dict[str, Any]:
    """`get_plan`, raising `PlanNotFound`, and with `done` `PlanNotReady` unless the plan is done or approved."""
    plan = get_plan(engine, plan_id)
    if plan is None:
        raise PlanNotFound(plan_id)
    if done and plan["status"] not in DONE:
        raise PlanNotReady(plan_id, plan["status"], plan["error"])
    return plan


def list_plans(engine: Engine, limit: int = 50, status: str | None = None) -> list[dict[str, Any]]:
    """The most recent plans first (headers, with the summary's headline figures)."""
    query = select(*_PLAN_COLUMNS).order_by(Plan.created_at.desc(), Plan.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Plan.status == status)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [_header(row) for row in rows]


def encode_cursor(values: list[Any]) -> str:
    """An opaque cursor for the values a page ended on."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).rstrip(b"=").decode()


def decode_cursor(text: str, size: int) -> list[Any]:
    """The `size` values of a cursor `encode_cursor` made; `BadCursor` otherwise."""
    try:
        values = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadCursor() from None
    if not isinstance(values, list) or len(values) != size or not all(map(_plain, values)):
        raise BadCursor()
    return values


def _plain(value: Any) -> bool:
    """A cursor value the database can compare: text without NUL, a 64-bit integer or a finite float."""
    if isinstance(value, str):
        return "\x00" not in value
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    return isinstance(value, float) and math.isfinite(value)


def _rows(result: Any, plan_id: str, version: str | None) -> list[dict[str, Any]]:
    return [{"plan_id": plan_id, **dict(row._mapping), "model_version": version} for row in result]


def replenishment_page(
    engine: Engine, plan: dict[str, Any], cursor: str | None = None, limit: int | None = DEFAULT_LIMIT
) -> Page:
    """Plan lines ordered by SKU, `limit` per page (None: all)."""
    query = select(*_LINE_COLUMNS).where(PlanLine.plan_id == plan["id"]).order_by(PlanLine.sku)
    if cursor:
        (after,) = decode_cursor(cursor, 1)
        query = query.where(PlanLine.sku > str(after))
    if limit is not None:
        query = query.limit(limit + 1)
    with engine.connect() as conn:
        rows = _rows(conn.execute(query), plan["id"], plan["model_version"])
    more = limit is not None and len(rows) > limit
    rows = rows[:limit] if limit is not None else rows
    return Page(plan["id"], plan["model_version"], rows, encode_cursor([rows[-1]["sku"]]) if more else None)


def schedule_page(
    engine: Engine, plan: dict[str, Any], cursor: str | None = None, limit: int | None = DEFAULT_LIMIT
) -> Page:
    """Scheduled operations ordered by production order and operation number, `limit` per page (None: all)."""
    query = (
        select(*_OP_COLUMNS)
        .where(ScheduledOperation.plan_id == plan["id"])
        .order_by(ScheduledOperation.job_id, ScheduledOperation.op)
    )
    if cursor:
        job, op = decode_cursor(cursor, 2)
        if not isinstance(op, int):
            raise BadCursor()
        query = query.where(tuple_(ScheduledOperation.job_id, ScheduledOperation.op) > tuple_(str(job), op))
    if limit is not None:
        query = query.limit(limit + 1)
    with engine.connect() as conn:
        rows = _rows(conn.execute(query), plan["id"], plan["model_version"])
    more = limit is not None and len(rows) > limit
    rows = rows[:limit] if limit is not None else rows
    return Page(
        plan["id"], plan["model_version"], rows, encode_cursor([rows[-1]["job_id"], rows[-1]["op"]]) if more else None
    )


def latest_plan_id(engine: Engine) -> str | None:
    """The most recent done or approved plan with replenishment lines or alerts (the one whose alerts are open);
    MRP plans keep their exceptions to themselves."""
    with engine.connect() as conn:
        return conn.execute(
            select(Plan.id)
            .where(
                Plan.status.in_(DONE),
                select(PlanLine.sku).where(PlanLine.plan_id == Plan.id).exists()
                | (
                    select(Alert.id).where(Alert.plan_id == Plan.id).exists()
                    & ~select(PlannedOrder.order_id).where(PlannedOrder.plan_id == Plan.id).exists()
                ),
            )
            .order_by(Plan.created_at.desc(), Plan.id.desc())
            .limit(1)
        ).scalar()


def alerts_page(
    engine: Engine,
    plan: dict[str, Any],
    severity: list[str] | None = None,
    types: list[str] | None = None,
    skus: list[str] | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page:
    """Alerts of a plan, filtered, by value at risk (largest first, then id)."""
    query = select(*_ALERT_COLUMNS).where(Alert.plan_id == plan["id"])
    if severity:
        query = query.where(Alert.severity.in_(severity))
    if types:
        query = query.where(Alert.type.in_(types))
    if skus:
        query = query.where(Alert.sku.in_(skus))
    if cursor:
        value, after = decode_cursor(cursor, 2)
        if not isinstance(value, int | float) or not isinstance(after, int):
            raise BadCursor()
        query = query.where((Alert.value_at_risk < value) | ((Alert.value_at_risk == value) & (Alert.id > after)))
    query = query.order_by(Alert.value_at_risk.desc(), Alert.id).limit(limit + 1)
    with engine.connect() as conn:
        rows = _rows(conn.execute(query), plan["id"], plan["model_version"])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor([rows[-1]["value_at_risk"], rows[-1]["id"]]) if more else None
    return Page(plan["id"], plan["model_version"], rows, next_cursor)


def alert_counts(engine: Engine, plan_id: str) -> dict[str, int]:
    """Alerts of a plan per severity."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(Alert.severity, func.count()).where(Alert.plan_id == plan_id).group_by(Alert.severity)
        ).all()
    return {str(severity): int(n) for severity, n in rows}


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["plan_id", *columns, "model_version"])
    if "details" in frame:
        frame["details"] = [json.dumps(d, sort_keys=True) if d is not None else "" for d in frame["details"]]
    return frame


def _table(engine: Engine, plan: dict[str, Any], what: str) -> pd.DataFrame:
    if what == "replenishment":
        return _frame(replenishment_page(engine, plan, limit=None).rows, [c.name for c in _LINE_COLUMNS])
    return _frame(schedule_page(engine, plan, limit=None).rows, [c.name for c in _OP_COLUMNS])


def export_csv(engine: Engine, plan: dict[str, Any], what: str) -> bytes:
    """Every row of the plan's `what` ('replenishment' or 'schedule') as UTF-8 CSV."""
    return to_csv_bytes(_table(engine, plan, what))


def _provenance(plan: dict[str, Any]) -> pd.DataFrame:
    header = {k: plan[k] for k in ("id", "kind", "status", "as_of", "model_version", "created_at", "approved_at")}
    items = {**header, "approved_by": plan["approved_by"], **(plan["params"] or {}), "summary": plan["summary"]}
    return pd.DataFrame([{"key": k, "value": json.dumps(v, sort_keys=True, default=str)} for k, v in items.items()])


def export_xlsx(engine: Engine, plan: dict[str, Any], what: str) -> bytes:
    """A workbook: replenishment → sheets lines, supplier splits, alerts, provenance; schedule → schedule,
    provenance."""
    buffer = io.BytesIO()
    table = _table(engine, plan, what)
    with excel_writer(buffer, datetime_format="yyyy-mm-dd hh:mm") as writer:
        if what == "replenishment":
            table.drop(columns=["details"]).to_excel(writer, sheet_name="lines", index=False)
            _splits(table).to_excel(writer, sheet_name="supplier splits", index=False)
            alerts = alerts_page(engine, plan, limit=MAX_LIMIT * 10).rows
            _frame(alerts, [c.name for c in _ALERT_COLUMNS]).to_excel(writer, sheet_name="alerts", index=False)
        else:
            table.to_excel(writer, sheet_name="schedule", index=False)
        _provenance(plan).to_excel(writer, sheet_name="provenance", index=False)
    return buffer.getvalue()


def _splits(lines: pd.DataFrame) -> pd.DataFrame:
    """Supplier splits as stored in each line's details (`details.splits`), one row per SKU and supplier."""
    rows: list[dict[str, Any]] = []
    for sku, text in zip(lines["sku"], lines["details"], strict=True):
        details = json.loads(text) if text else {}
        for split in details.get("splits") or []:
            rows.append({"sku": sku, **split})
    return pd.DataFrame(rows, columns=["sku", "supplier_id", "qty", "explanation"])


def approve(engine: Engine, plan_id: str, by: str) -> dict[str, Any]:
    """Mark a done plan approved by `by`; `PlanNotFound`, `PlanNotReady` (not done) or `AlreadyApproved`."""
    plan = require_plan(engine, plan_id)
    if plan["status"] == "approved":
        raise AlreadyApproved(plan_id, plan["approved_by"], plan["approved_at"])
    if plan["status"] != "done":
        raise PlanNotReady(plan_id, plan["status"], plan["error"])
    with engine.begin() as conn:
        changed = conn.execute(
            update(Plan)
            .where(Plan.id == plan_id, Plan.status == "done")
            .values(status="approved", approved_at=dt.datetime.now(dt.UTC), approved_by=by)
        ).rowcount
    plan = require_plan(engine, plan_id)
    if not changed:
        raise AlreadyApproved(plan_id, plan["approved_by"], plan["approved_at"])
    return plan


class AlreadyApproved(Exception):
    """The plan was approved before."""

    def __init__(self, plan_id: str, by: str | None, at: dt.datetime | None) -> None:
        when = at.isoformat(timespec="seconds") if at else "earlier"
        super().__init__(f"plan {plan_id!r} was already approved by {by!r} at {when}")

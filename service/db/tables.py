"""SQLAlchemy 2 models: the canonical tables (mirroring `pipelines.contracts`) and the service's own tables.

Canonical tables are keyed exactly as their contracts (`TableSpec.key`), so an upsert of a validated frame
is idempotent. Alembic migrations in `service/db/migrations` create these; never `create_all` in production.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base for every leanplan table."""


# --- canonical tables -----------------------------------------------------------------------------------------


class Item(Base):
    __tablename__ = "items"
    sku: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str | None] = mapped_column(String)
    family: Mapped[str | None] = mapped_column(String)
    unit_cost: Mapped[float] = mapped_column(Double)
    price: Mapped[float | None] = mapped_column(Double)
    shelf_life_days: Mapped[int | None] = mapped_column(Integer)
    lot_size: Mapped[float] = mapped_column(Double)
    moq: Mapped[float] = mapped_column(Double)
    make_or_buy: Mapped[str] = mapped_column(String)
    lot_rule: Mapped[str] = mapped_column(String, server_default="lot_for_lot")
    poq_periods: Mapped[int | None] = mapped_column(Integer)
    order_cost: Mapped[float | None] = mapped_column(Double)
    safety_stock: Mapped[float | None] = mapped_column(Double)
    queue_days: Mapped[float] = mapped_column(Double, server_default="0")
    pull: Mapped[bool] = mapped_column(Boolean, server_default=false())
    container_qty: Mapped[float | None] = mapped_column(Double)


class Demand(Base):
    __tablename__ = "demand"
    sku: Mapped[str] = mapped_column(String, ForeignKey("items.sku"), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    qty: Mapped[float] = mapped_column(Double)


class Inventory(Base):
    __tablename__ = "inventory"
    sku: Mapped[str] = mapped_column(String, ForeignKey("items.sku"), primary_key=True)
    as_of: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    on_hand: Mapped[float] = mapped_column(Double)
    backorders: Mapped[float] = mapped_column(Double)


class OpenOrder(Base):
    __tablename__ = "open_orders"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    sku: Mapped[str] = mapped_column(String, ForeignKey("items.sku"), index=True)
    qty: Mapped[float] = mapped_column(Double)
    due_date: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String)
    supplier_id: Mapped[str | None] = mapped_column(String)


class Receipt(Base):
    __tablename__ = "receipts"
    po_id: Mapped[str] = mapped_column(String, primary_key=True)
    supplier_id: Mapped[str] = mapped_column(String, index=True)
    sku: Mapped[str] = mapped_column(String, ForeignKey("items.sku"), primary_key=True)
    qty_ordered: Mapped[float] = mapped_column(Double)
    order_date: Mapped[dt.date] = mapped_column(Date)
    promised_date: Mapped[dt.date] = mapped_column(Date)
    received_date: Mapped[dt.date | None] = mapped_column(Date)
    qty_received: Mapped[float] = mapped_column(Double)


class SupplierOffer(Base):
    __tablename__ = "suppliers"
    supplier_id: Mapped[str] = mapped_column(String, primary_key=True)
    sku: Mapped[str] = mapped_column(String, ForeignKey("items.sku"), primary_key=True)
    supplier_name: Mapped[str | None] = mapped_column(String)
    unit_price: Mapped[float] = mapped_column(Double)
    moq: Mapped[float] = mapped_column(Double)
    lot_multiple: Mapped[float] = mapped_column(Double)
    nominal_lead_time_days: Mapped[int] = mapped_column(Integer)
    capacity_per_period: Mapped[float | None] = mapped_column(Double)
    __table_args__ = (Index("ix_suppliers_sku", "sku"),)


class Line(Base):
    __tablename__ = "lines"
    line_id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str | None] = mapped_column(String)
    shifts: Mapped[str] = mapped_column(String)


class LineDowntime(Base):
    __tablename__ = "line_downtime"
    line_id: Mapped[str] = mapped_column(String, ForeignKey("lines.line_id"), primary_key=True)
    start: Mapped[dt.datetime] = mapped_column(DateTime, primary_key=True)
    end: Mapped[dt.datetime] = mapped_column(DateTime)
    reason: Mapped[str | None] = mapped_column(String)


class Routing(Base):
    __tablename__ = "routings"
    sku: Mapped[str] = mapped_column(String, ForeignKey("items.sku"), primary_key=True)
    op: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_id: Mapped[str] = mapped_column(String, ForeignKey("lines.line_id"), primary_key=True)
    rate_per_hour: Mapped[float] = mapped_column(Double)


class BomLine(Base):
    """One bill-of-materials line: `qty_per` units of `component_sku` per unit of `parent_sku`, used at op `op`."""

    __tablename__ = "bom"
    parent_sku: Mapped[str] = mapped_column(String, ForeignKey("items.sku"), primary_key=True)
    component_sku: Mapped[str] = mapped_column(String, ForeignKey("items.sku"), primary_key=True)
    op: Mapped[int] = mapped_column(Integer, primary_key=True)
    qty_per: Mapped[float] = mapped_column(Double)
    scrap_rate: Mapped[float] = mapped_column(Double)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    __table_args__ = (Index("ix_bom_component_sku", "component_sku"),)


class Changeover(Base):
    __tablename__ = "changeovers"
    line_id: Mapped[str] = mapped_column(String, primary_key=True)
    from_family: Mapped[str] = mapped_column(String, primary_key=True)
    to_family: Mapped[str] = mapped_column(String, primary_key=True)
    minutes: Mapped[float] = mapped_column(Double)


class CustomerOrder(Base):
    __tablename__ = "customer_orders"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    sku: Mapped[str] = mapped_column(String, ForeignKey("items.sku"), index=True)
    qty: Mapped[float] = mapped_column(Double)
    due_date: Mapped[dt.date] = mapped_column(Date)
    priority: Mapped[int] = mapped_column(Integer)


#: Canonical table name -> model class.
CANONICAL_MODELS: dict[str, type[Base]] = {
    m.__tablename__: m
    for m in (
        Item,
        Demand,
        Inventory,
        OpenOrder,
        Receipt,
        SupplierOffer,
        Line,
        LineDowntime,
        Routing,
        BomLine,
        Changeover,
        CustomerOrder,
    )
}


# --- service tables -------------------------------------------------------------------------------------------


def _now() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


class ForecastSet(Base):
    """One batch of forecasts written by one model version; readers see only the current published set."""

    __tablename__ = "forecast_sets"
    model_version: Mapped[str] = mapped_column(String, primary_key=True)
    model_name: Mapped[str] = mapped_column(String)
    status: Mapped[str] = mapped_column(String, default="writing")  # writing | published | superseded
    created_at: Mapped[dt.datetime] = _now()
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    info: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Forecast(Base):
    """Forecast of one SKU for one period: mean, quantiles and cumulative-demand quantiles (JSON {"q0.9": …})."""

    __tablename__ = "forecasts"
    model_version: Mapped[str] = mapped_column(String, ForeignKey("forecast_sets.model_version"), primary_key=True)
    sku: Mapped[str] = mapped_column(String, primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    horizon: Mapped[int] = mapped_column(Integer)
    mean: Mapped[float] = mapped_column(Double)
    quantiles: Mapped[dict[str, float]] = mapped_column(JSON)
    cum_quantiles: Mapped[dict[str, float] | None] = mapped_column(JSON)
    __table_args__ = (Index("ix_forecasts_sku_date", "sku", "date"),)


class Plan(Base):
    """A replenishment (and production) plan computed as of a date from one forecast set."""

    __tablename__ = "plans"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    status: Mapped[str] = mapped_column(String, default="pending")  # pending | running | done | failed | approved
    as_of: Mapped[dt.date | None] = mapped_column(Date)
    model_version: Mapped[str | None] = mapped_column(String)
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = _now()
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by: Mapped[str | None] = mapped_column(String)


#: the one-active-job-per-lock_key index covers queued and running jobs only (a partial index on both databases)
ACTIVE_JOBS = text("status IN ('queued', 'running')")


class Job(Base):
    """Durable background work (training, planning) picked up by `leanplan worker`."""

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    kind: Mapped[str] = mapped_column(String)  # train | plan
    status: Mapped[str] = mapped_column(String, default="queued")  # queued | running | succeeded | failed
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    lock_key: Mapped[str | None] = mapped_column(String)  # at most one running job per key (e.g. experiment)
    progress: Mapped[float] = mapped_column(Double, default=0.0)
    message: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker_id: Mapped[str | None] = mapped_column(String)
    key_id: Mapped[str | None] = mapped_column(String)  # the API key that queued it (None: CLI); per-key quota
    created_at: Mapped[dt.datetime] = _now()
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        Index("ix_jobs_status_created", "status", "created_at"),
        Index("ix_jobs_key_status", "key_id", "status"),
        Index("uq_jobs_active_lock", "lock_key", unique=True, sqlite_where=ACTIVE_JOBS, postgresql_where=ACTIVE_JOBS),
    )


class ApiKey(Base):
    """An API key, stored as a hash; `prefix` identifies it in lists without revealing it."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    role: Mapped[str] = mapped_column(String)  # erp | planner | scientist | admin
    prefix: Mapped[str] = mapped_column(String)
    key_hash: Mapped[str] = mapped_column(String, unique=True)
    created_at: Mapped[dt.datetime] = _now()
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class PlanLine(Base):
    """One SKU's replenishment recommendation in a plan; `details` holds the supplier split and the evidence."""

    __tablename__ = "plan_lines"
    plan_id: Mapped[str] = mapped_column(String, ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True)
    sku: Mapped[str] = mapped_column(String, primary_key=True)
    supplier_id: Mapped[str | None] = mapped_column(String)
    abc: Mapped[str | None] = mapped_column(String)
    xyz: Mapped[str | None] = mapped_column(String)
    pattern: Mapped[str | None] = mapped_column(String)
    service_target: Mapped[float | None] = mapped_column(Double)
    on_hand: Mapped[float] = mapped_column(Double, default=0.0)
    open_qty: Mapped[float] = mapped_column(Double, default=0.0)
    backorders: Mapped[float] = mapped_column(Double, default=0.0)
    inventory_position: Mapped[float] = mapped_column(Double, default=0.0)
    demand_per_period: Mapped[float | None] = mapped_column(Double)
    lead_time_days: Mapped[float | None] = mapped_column(Double)
    safety_stock: Mapped[float | None] = mapped_column(Double)
    reorder_point: Mapped[float | None] = mapped_column(Double)
    order_up_to: Mapped[float | None] = mapped_column(Double)
    eoq: Mapped[float | None] = mapped_column(Double)
    order_qty: Mapped[float] = mapped_column(Double, default=0.0)
    order_by: Mapped[dt.date | None] = mapped_column(Date)
    expected_arrival: Mapped[dt.date | None] = mapped_column(Date)
    stockout_date: Mapped[dt.date | None] = mapped_column(Date)
    days_of_supply: Mapped[float | None] = mapped_column(Double)
    capital: Mapped[float | None] = mapped_column(Double)
    expected_fill_rate: Mapped[float | None] = mapped_column(Double)
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Alert(Base):
    """Something a planner should act on, ranked by the money at stake."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(String, ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str | None] = mapped_column(String, index=True)
    supplier_id: Mapped[str | None] = mapped_column(String)
    type: Mapped[str] = mapped_column(String)
    severity: Mapped[str] = mapped_column(String)  # critical | high | medium | low
    value_at_risk: Mapped[float] = mapped_column(Double, default=0.0)
    message: Mapped[str] = mapped_column(Text)
    action: Mapped[str | None] = mapped_column(Text)


class ScheduledOperation(Base):
    """One operation of a production order in a plan's schedule."""

    __tablename__ = "schedule_operations"
    plan_id: Mapped[str] = mapped_column(String, ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True)
    job_id: Mapped[str] = mapped_column(String, primary_key=True)
    op: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String)
    qty: Mapped[float] = mapped_column(Double)
    line_id: Mapped[str] = mapped_column(String)
    start: Mapped[dt.datetime] = mapped_column(DateTime)
    end: Mapped[dt.datetime] = mapped_column(DateTime)
    setup_minutes: Mapped[float] = mapped_column(Double, default=0.0)
    due: Mapped[dt.datetime | None] = mapped_column(DateTime)
    lateness_minutes: Mapped[float] = mapped_column(Double, default=0.0)
    __table_args__ = (Index("ix_schedule_operations_plan_line", "plan_id", "line_id", "start"),)


class PlannedOrder(Base):
    """One planned order of an MRP plan: make (a production order) or buy (a purchase), released and due by date."""

    __tablename__ = "planned_orders"
    plan_id: Mapped[str] = mapped_column(String, ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True)
    order_id: Mapped[str] = mapped_column(String, primary_key=True)
    sku: Mapped[str] = mapped_column(String)
    make_or_buy: Mapped[str] = mapped_column(String)
    low_level_code: Mapped[int] = mapped_column(Integer, default=0)
    release_date: Mapped[dt.date] = mapped_column(Date)
    due_date: Mapped[dt.date] = mapped_column(Date)
    qty: Mapped[float] = mapped_column(Double)
    expedite: Mapped[bool] = mapped_column(Boolean, default=False)
    supplier_id: Mapped[str | None] = mapped_column(String)  # buy orders: the primary supplier
    splits: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON(none_as_null=True))  # orders placed now: split
    __table_args__ = (Index("ix_planned_orders_plan_sku", "plan_id", "sku", "due_date"),)


class Pegging(Base):
    """Which end-item demand (customer order id or forecast period) a planned order's quantity serves."""

    __tablename__ = "peggings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(String, ForeignKey("plans.id", ondelete="CASCADE"))
    order_id: Mapped[str] = mapped_column(String)
    sku: Mapped[str] = mapped_column(String)
    due_date: Mapped[dt.date] = mapped_column(Date)
    qty: Mapped[float] = mapped_column(Double)
    end_sku: Mapped[str] = mapped_column(String)
    end_date: Mapped[dt.date | None] = mapped_column(Date)  # none for lot-size surplus (demand_id 'excess')
    demand_id: Mapped[str] = mapped_column(String)
    __table_args__ = (
        Index("ix_peggings_plan_order", "plan_id", "order_id"),
        Index("ix_peggings_plan_end", "plan_id", "end_sku", "demand_id"),
    )


class MrpRecord(Base):
    """One item's time-phased record in an MRP plan: the planners' grid, one list per row, one value per period."""

    __tablename__ = "mrp_records"
    plan_id: Mapped[str] = mapped_column(String, ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True)
    sku: Mapped[str] = mapped_column(String, primary_key=True)
    make_or_buy: Mapped[str] = mapped_column(String)
    low_level_code: Mapped[int] = mapped_column(Integer, default=0)
    lead_time_periods: Mapped[int] = mapped_column(Integer, default=0)
    periods: Mapped[list[str]] = mapped_column(JSON)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)


class WebSession(Base):
    """A planner's signed-in browser session (the cookie carries only its id); sign-out revokes it."""

    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    key_id: Mapped[str] = mapped_column(String, ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = _now()
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class DataAudit(Base):
    """One change to canonical data beyond an upsert (a delete by id, a replace): who, when, which rows."""

    __tablename__ = "data_audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = _now()
    key_id: Mapped[str | None] = mapped_column(String)  # the API key (None: the CLI)
    key_name: Mapped[str | None] = mapped_column(String)
    action: Mapped[str] = mapped_column(String)  # delete | replace
    table_name: Mapped[str] = mapped_column(String)
    rows: Mapped[int] = mapped_column(Integer)  # rows removed
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # e.g. {"id": ...}
    __table_args__ = (Index("ix_data_audit_table_at", "table_name", "at"),)


class PlacementStage(Base):
    """One item of a stock-placement plan: its guaranteed service times, net replenishment time and safety stock."""

    __tablename__ = "placement_stages"
    plan_id: Mapped[str] = mapped_column(String, ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True)
    sku: Mapped[str] = mapped_column(String, primary_key=True)
    level: Mapped[int] = mapped_column(Integer, default=0)
    inbound_service_time: Mapped[float] = mapped_column(Double)
    outbound_service_time: Mapped[float] = mapped_column(Double)
    net_replenishment_time: Mapped[float] = mapped_column(Double)
    demand_mean: Mapped[float | None] = mapped_column(Double)
    demand_std: Mapped[float | None] = mapped_column(Double)
    safety_factor: Mapped[float | None] = mapped_column(Double)
    unit_value: Mapped[float | None] = mapped_column(Double)
    safety_stock: Mapped[float] = mapped_column(Double)
    safety_stock_cost: Mapped[float] = mapped_column(Double)
    base_stock_level: Mapped[float | None] = mapped_column(Double)
    decoupling_point: Mapped[bool] = mapped_column(Boolean, default=False)

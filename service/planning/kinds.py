"""Plan kinds: what each kind computes from a request. The lifecycle (`service.planning.lifecycle`) creates, runs,
stores and compares plans of any kind the same way; a new kind is one `register(PlanKind(...))`.

Kinds: `replenishment` (reorder points, orders now, alerts), `production` (CP-SAT schedule of the make SKUs),
`plan` (replenishment and, when there are make SKUs, the production schedule with that plan's safety stocks — what
`POST /v1/plans` computes by default), `mrp` (multi-level MRP over the bills of materials, `service.mrp`) and
`placement` (safety-stock placement over the bills of materials, `service.placement`).

Public interface: `PlanKind`, `KINDS`, `register`, `get_kind`, `replenishment_config`, `production_options`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from service.planning.computed import ComputedPlan, PlanRun

if TYPE_CHECKING:
    from optimizer.replenishment import ReplenishmentConfig, ReplenishmentInputs, ReplenishmentPlan
    from service.production import ProductionOptions, ProductionPlan

DEFAULT_TIME_LIMIT = 20.0
SCHEDULE_WORKERS = 2


@dataclass(frozen=True)
class PlanKind:
    """A kind of plan: its name, what it computes, and which tables it fills (for links and readers)."""

    name: str
    description: str
    compute: Callable[[PlanRun], ComputedPlan]
    tables: tuple[str, ...]


KINDS: dict[str, PlanKind] = {}


def register(kind: PlanKind) -> PlanKind:
    """Add a plan kind (its name must be new)."""
    if kind.name in KINDS:
        raise ValueError(f"plan kind {kind.name!r} is registered twice")
    KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> PlanKind:
    """The kind called `name`; `LookupError` naming the known kinds otherwise."""
    try:
        return KINDS[name]
    except KeyError:
        raise LookupError(f"unknown plan kind {name!r}; known kinds: {', '.join(sorted(KINDS))}") from None


# --- requests → settings ---------------------------------------------------------------------------------------------


def replenishment_config(request: dict[str, Any]) -> ReplenishmentConfig:
    """The policy settings of a request: `config` (a whole ReplenishmentConfig mapping, default settings when absent),
    then `targets` (a ServiceTargets mapping), `fill_rate` (one target for every class, overrides `targets`) and
    `shortage_scale` on top."""
    from optimizer.classify import ServiceTargets
    from optimizer.replenishment import ReplenishmentConfig

    config = ReplenishmentConfig.model_validate(request.get("config") or {})
    changes: dict[str, Any] = {}
    if request.get("targets"):
        changes["targets"] = ServiceTargets.model_validate(request["targets"])
    fill_rate = request.get("fill_rate")
    if fill_rate is not None:
        changes["targets"] = ServiceTargets(
            measure="fill_rate", targets={c: fill_rate for c in "ABC"}, default=fill_rate
        )
    if request.get("shortage_scale"):
        changes["shortage_scale"] = request["shortage_scale"]
    return config.model_copy(update=changes)


def production_options(request: dict[str, Any]) -> ProductionOptions:
    """Netting and solver settings of a request (`horizon_days`, `time_limit`, `workers`, `objective`, `as_of`,
    `cover_days`, `max_batch_hours`); absent keys take `ProductionOptions`' defaults."""
    from service.production import ProductionOptions

    fields = ("horizon_days", "time_limit", "workers", "objective", "as_of", "cover_days", "max_batch_hours")
    given = {k: request[k] for k in fields if request.get(k) is not None}
    if "as_of" in given:
        given["as_of"] = pd.Timestamp(given["as_of"])
    return ProductionOptions(**given)


# --- replenishment ---------------------------------------------------------------------------------------------------


def _replenishment_files(plan: ReplenishmentPlan) -> Callable[[str, Path], list[Path]]:
    from service.replenishment import write_files

    return lambda plan_id, out_dir: list(write_files(plan, plan_id, out_dir))


def _replenishment_parts(run: PlanRun, share: float = 1.0) -> tuple[ReplenishmentInputs, ReplenishmentPlan]:
    from optimizer.replenishment import plan_replenishment
    from service.replenishment import load_inputs

    config = replenishment_config(run.request)
    run.progress(0.05 * share, "loading data")
    inputs = load_inputs(run.engine, run.request.get("as_of"), run.request.get("skus"))
    run.progress(0.15 * share, f"computing replenishment for {len(inputs.items):,} SKUs")
    plan = plan_replenishment(inputs, config)
    plan.params["sku_filter"] = run.request.get("skus")
    return inputs, plan


def _replenishment_plan(kind: str, inputs: ReplenishmentInputs, plan: ReplenishmentPlan) -> ComputedPlan:
    from service.replenishment import alert_rows, line_rows

    return ComputedPlan(
        kind=kind,
        as_of=inputs.as_of,
        model_version=plan.params.get("forecast", {}).get("model_version"),
        params=plan.params,
        summary=plan.summary,
        rows={"plan_lines": line_rows(plan, ""), "alerts": alert_rows(plan, "")},
        result=plan,
        write_files=_replenishment_files(plan),
    )


def _replenishment(run: PlanRun) -> ComputedPlan:
    return _replenishment_plan("replenishment", *_replenishment_parts(run))


# --- production ------------------------------------------------------------------------------------------------------


def _production_files(plan: ProductionPlan) -> Callable[[str, Path], list[Path]]:
    def write(plan_id: str, out_dir: Path) -> list[Path]:
        from optimizer.schedule.report import gantt_data, write_csv, write_xlsx

        paths = [out_dir / f"{plan_id}.csv", out_dir / f"{plan_id}.xlsx", out_dir / f"{plan_id}.gantt.json"]
        write_csv(plan.table, paths[0])
        write_xlsx(plan.table, plan.kpis, paths[1])
        paths[2].write_text(json.dumps(gantt_data(plan.table)))
        return paths

    return write


def _production(run: PlanRun) -> ComputedPlan:
    from service import production

    options = production_options(run.request)
    run.progress(0.05, "loading the plant tables")
    loaded = production.load(run.engine, options, run.request.get("skus"))
    run.progress(0.2, f"scheduling production of {len(loaded.make):,} make SKUs")
    plan = production.compute(loaded, options)
    return ComputedPlan(
        kind="production",
        as_of=plan.as_of,
        model_version=plan.model_version,
        params=plan.params,
        summary=plan.summary,
        rows={"schedule_operations": production.operation_rows(plan.table, "")},
        result=plan,
        write_files=_production_files(plan),
    )


# --- replenishment + production --------------------------------------------------------------------------------------


def _combined(run: PlanRun) -> ComputedPlan:
    from service import production

    inputs, plan = _replenishment_parts(run, share=0.5)
    make = sorted(inputs.items.loc[inputs.items["make_or_buy"] == "make", "sku"])
    wanted = run.request.get("schedule")
    schedule = bool(make) if wanted is None else bool(wanted)
    if schedule and not make:
        raise ValueError(
            "no 'make' SKUs among the selected items, so there is nothing to schedule; "
            "plan again with schedule false or select make SKUs"
        )
    scheduled: production.ProductionPlan | None = None
    idle: dict[str, Any] | None = None
    if schedule:
        run.progress(0.5, f"scheduling production of {len(make):,} make SKUs")
        lines = plan.lines.set_index("sku")
        safety = lines.loc[lines.index.isin(make), "safety_stock"].dropna().astype(float)
        options = production_options(
            {
                "time_limit": float(run.request.get("time_limit") or DEFAULT_TIME_LIMIT),
                "workers": SCHEDULE_WORKERS,
                "as_of": run.request.get("as_of"),
            }
        )
        source = {"plan_id": run.plan_id, "source": "this plan"}
        loaded = production.load(
            run.engine, options, run.request.get("skus"), safety_stock=safety, safety_source=source
        )
        try:
            scheduled = production.compute(loaded, options)
        except production.NothingToMake as err:
            idle = {"kind": "production", "operations": 0, "note": str(err)}
    computed = _replenishment_plan("plan", inputs, plan)
    computed.params = {**plan.params, "production": scheduled.params if scheduled is not None else None}
    computed.summary = {**plan.summary, "production": scheduled.summary if scheduled is not None else idle}
    computed.rows["schedule_operations"] = (
        production.operation_rows(scheduled.table, "") if scheduled is not None else []
    )
    computed.result = (plan, scheduled)
    return computed


# --- MRP -------------------------------------------------------------------------------------------------------------


def _mrp(run: PlanRun) -> ComputedPlan:
    from service.mrp import compute_plan

    return compute_plan(run)


def _placement(run: PlanRun) -> ComputedPlan:
    from service.placement import compute_plan

    return compute_plan(run)


register(
    PlanKind(
        "replenishment",
        "reorder points, safety stock, orders now and alerts for the selected SKUs",
        _replenishment,
        ("plan_lines", "alerts"),
    )
)
register(
    PlanKind(
        "production",
        "production orders netted from requirements, scheduled on the lines with CP-SAT",
        _production,
        ("schedule_operations",),
    )
)
register(
    PlanKind(
        "plan",
        "replenishment and, when make SKUs are selected, the production schedule with that plan's safety stocks",
        _combined,
        ("plan_lines", "alerts", "schedule_operations"),
    )
)
register(
    PlanKind(
        "mrp",
        "multi-level MRP over the bills of materials: planned make and buy orders, pegging, exceptions",
        _mrp,
        ("planned_orders", "peggings", "mrp_records", "alerts"),
    )
)
register(
    PlanKind(
        "placement",
        "where in the bills of materials to hold safety stock (Guaranteed Service Model): service times, safety "
        "stock and decoupling points per item",
        _placement,
        ("placement_stages",),
    )
)


__all__ = ["KINDS", "PlanKind", "get_kind", "production_options", "register", "replenishment_config"]

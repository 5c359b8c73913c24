"""Benchmarks of the inventory optimizer: the policy replay (`leanplan bench policy`), the policy computation speed
against a per-SKU stockpyl loop (`leanplan bench policy-speed`), and the RAF bench inputs (`leanplan bench
raf-inputs`).

Public interface: `raf_bench_inputs`, `policy_bench`, `policy_speed`, `synthetic_forecast`, `machine`.
"""

from __future__ import annotations

import logging
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.schema import DEFAULT_QUANTILES, cum_quantile_col
from optimizer import textbook
from optimizer.classify import ServiceTargets
from optimizer.empirical import gamma_quantiles
from optimizer.history import DemandHistory
from optimizer.lead_time_demand import component_quantiles_from_cumulative, from_component_quantiles, lead_time_points
from optimizer.policy import OrderTerms, compute_policy
from optimizer.provenance import frame_fingerprint
from optimizer.replenishment import forecast_arrays
from optimizer.simulate import (
    LeanplanPolicy,
    MinMaxPolicy,
    NormalPolicy,
    Policy,
    Replay,
    ReplayData,
    frontier,
    inventory_at_fill,
    saved_at_equal_fill,
    tune,
)
from optimizer.suppliers import supplier_reliability

log = logging.getLogger(__name__)


def machine() -> dict[str, Any]:
    """The machine a figure was measured on."""
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "load_average_1_5_15": [round(x, 2) for x in load],
    }


# --- RAF bench inputs ------------------------------------------------------------------------------------------


def raf_bench_inputs(
    raf_dir: Path,
    out_dir: Path,
    order_cost: float = 50.0,
    holding_rate: float = 0.25,
    receipts: Path | None = None,
    suppliers: Path | None = None,
    as_of: str = "2003-01-01",
) -> tuple[Path, Path]:
    """Write `raf_demand.csv` (long sku, date, qty) and `raf_items.csv` (sku, unit_cost, lead_time_periods,
    lead_time_std_periods, order_cost, holding_rate) from the RAF spare-parts files.

    SKUs are named as in the sample data (item 17 → RAF-0017); unit_cost = unit_price_gbp, lead_time_periods =
    lead_time_months. With `receipts` and `suppliers` (the sample data's generated purchase history), each SKU's
    lead-time std is its cheapest offer's measured std (`optimizer.suppliers`, in months); otherwise 0.
    """
    demand_wide = pd.read_csv(raf_dir / "raf_demand_monthly.csv")
    raw_items = pd.read_csv(raf_dir / "raf_items.csv")
    sku = demand_wide["item_id"].map(lambda i: f"RAF-{int(i):04d}")
    long = demand_wide.drop(columns="item_id").assign(sku=sku).melt(id_vars="sku", var_name="date", value_name="qty")
    long["date"] = pd.to_datetime(long["date"]).dt.strftime("%Y-%m-%d")
    long = long.sort_values(["sku", "date"], kind="stable")
    items = pd.DataFrame(
        {
            "sku": raw_items["item_id"].map(lambda i: f"RAF-{int(i):04d}"),
            "unit_cost": raw_items["unit_price_gbp"].round(3),
            "lead_time_periods": raw_items["lead_time_months"].astype(float),
            "lead_time_std_periods": 0.0,
            "order_cost": order_cost,
            "holding_rate": holding_rate,
        }
    )
    if receipts is not None and suppliers is not None:
        offers = pd.read_csv(suppliers, dtype={"sku": str, "supplier_id": str})
        rec = pd.read_csv(receipts, dtype={"sku": str, "supplier_id": str})
        reliability = supplier_reliability(rec, offers, as_of)
        off = reliability.offers.merge(offers[["supplier_id", "sku", "unit_price"]], on=["supplier_id", "sku"])
        off = off.sort_values(["sku", "unit_price", "supplier_id"]).drop_duplicates("sku")
        std = off.set_index("sku")["lead_time_std_days"] / (365.25 / 12)
        items["lead_time_std_periods"] = items["sku"].map(std).fillna(0.0).round(3).to_numpy()
    out_dir.mkdir(parents=True, exist_ok=True)
    demand_path, items_path = out_dir / "raf_demand.csv", out_dir / "raf_items.csv"
    long.to_csv(demand_path, index=False)
    items.to_csv(items_path, index=False)
    return demand_path, items_path


# --- policy replay bench ---------------------------------------------------------------------------------------


def _policy_entry(result: Any, tuning: Any) -> dict[str, Any]:
    entry = result.as_dict()
    entry["tuning_seconds"] = round(tuning.seconds, 2)
    entry["evaluations"] = len(tuning.evaluations)
    entry["converged"] = tuning.converged
    entry["seconds"] = round(result.seconds, 3)
    return entry


def _frontier_knobs(policy: Policy, tuned: float) -> list[float]:
    factors = [1 / 16, 1 / 8, 0.25, 0.5, 0.7, 0.85, 1.2, 1.5, 2.0, 4.0, 8.0, 16.0]
    if policy.log_scale:
        return [tuned * f for f in factors]
    return [tuned + d for d in (-4.0, -3.0, -2.0, -1.0, -0.5, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0)]


def policy_bench(
    data: ReplayData,
    target: float = 0.95,
    seed: int = 0,
    with_frontier: bool = True,
    targets: ServiceTargets | None = None,
    tol: float = 5e-4,
) -> dict[str, Any]:
    """Replay the last third with leanplan, min/max and normal, each knob tuned to `target` portfolio fill; JSON
    figures incl. inventory saved at equal fill, per-class fill, and (optionally) the frontier of each policy."""
    targets = targets or ServiceTargets(targets={"A": target, "B": target, "C": target}, default=target)
    setup = Replay(data, seed=seed)
    policies: list[Policy] = [LeanplanPolicy(targets=targets), MinMaxPolicy(), NormalPolicy()]
    out: dict[str, Any] = {"policies": {}}
    tuned: dict[str, Any] = {}
    for policy in policies:
        tuning = tune(setup, policy, target, tol=tol)
        tuned[policy.name] = tuning
        out["policies"][policy.name] = _policy_entry(tuning.result, tuning)
        log.info("%s tuned: %s", policy.name, out["policies"][policy.name])
    ours = tuned["leanplan"].result.avg_inventory_value
    out["inventory_saved_vs_minmax"] = saved_at_equal_fill(ours, tuned["minmax"].result.avg_inventory_value)
    out["inventory_saved_vs_normal"] = saved_at_equal_fill(ours, tuned["normal"].result.avg_inventory_value)
    class_targets = {c: float(targets.target_of(np.array([c]), np.array(["X"]))[0]) for c in ("A", "B", "C")}
    fills = tuned["leanplan"].result.fill_by_class
    out["class_targets"] = class_targets
    out["class_fill_within_2_points"] = all(
        abs(fills.get(c, class_targets[c]) - class_targets[c]) <= 0.02 for c in "ABC"
    )
    if with_frontier:
        curves: dict[str, list[Any]] = {}
        for policy in policies:
            points = frontier(setup, policy, _frontier_knobs(policy, tuned[policy.name].result.knob))
            points = sorted([*points, *tuned[policy.name].evaluations], key=lambda r: r.fill_rate)
            curves[policy.name] = points
        out["frontier"] = {
            name: [[round(p.fill_rate, 5), round(p.avg_inventory_value, 2), p.knob] for p in pts]
            for name, pts in curves.items()
        }
        saved: dict[str, dict[str, float | None]] = {}
        for fill in (0.90, 0.93, 0.95, 0.97, 0.98):
            ours_at = inventory_at_fill(curves["leanplan"], fill)
            row: dict[str, float | None] = {}
            for peer in ("minmax", "normal"):
                theirs = inventory_at_fill(curves[peer], fill)
                row[peer] = saved_at_equal_fill(ours_at, theirs) if ours_at is not None and theirs else None
            saved[f"{fill:.2f}"] = row
        out["saved_at_fill"] = saved
    history: DemandHistory = data.history
    out["config"] = {
        "skus": data.n,
        "periods": history.n_periods,
        "frequency": history.freq,
        "replay_start": str(history.periods[setup.start].date()),
        "replay_periods": len(setup.periods),
        "target_fill_rate": target,
        "tolerance": tol,
        "seed": seed,
        "lead_time_std_mean_periods": float(np.mean(data.lead_time_std)),
        "demand_fingerprint": frame_fingerprint(pd.DataFrame(history.qty)),
    }
    out["machine"] = machine()
    return out


# --- policy computation speed ----------------------------------------------------------------------------------


def synthetic_forecast(n: int, horizon: int = 24, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A forecast frame (sku, date, horizon, mean, cq…) of n intermittent-to-smooth SKUs and their items
    (sku, unit_cost, lead_time_periods, lead_time_std_periods), RAF-like in spread."""
    rng = np.random.default_rng(seed)
    mean = rng.gamma(0.6, 3.0, n) + 0.01
    dispersion = rng.uniform(1.0, 12.0, n)
    steps = np.arange(1, horizon + 1, dtype=float)
    cum_mean = mean[:, None] * steps[None, :]
    cum_var = (mean * dispersion)[:, None] * steps[None, :]
    cq = gamma_quantiles(cum_mean, cum_var, DEFAULT_QUANTILES)
    skus = np.array([f"S{i:06d}" for i in range(n)])
    dates = pd.date_range("2024-01-01", periods=horizon, freq="MS")
    frame = pd.DataFrame(
        {
            "sku": np.repeat(skus, horizon),
            "date": np.tile(dates, n),
            "horizon": np.tile(np.arange(1, horizon + 1), n),
            "mean": np.repeat(mean, horizon),
        }
    )
    for j, p in enumerate(DEFAULT_QUANTILES):
        frame[cum_quantile_col(p)] = cq[:, :, j].ravel()
    lead = rng.integers(0, 18, n).astype(float)
    items = pd.DataFrame(
        {
            "sku": skus,
            "unit_cost": np.round(rng.lognormal(2.3, 1.8, n), 3),
            "lead_time_periods": lead,
            "lead_time_std_periods": np.round(lead * rng.uniform(0.0, 0.3, n), 3),
        }
    )
    return frame, items


def _leanplan_policy_seconds(frame: pd.DataFrame, items: pd.DataFrame, k: int) -> tuple[float, dict[str, float]]:
    """Wall time of the full policy computation from a forecast frame (frame → arrays → lead-time mixture →
    (R, s, S) with fill-rate targets and value allocation), and its phases."""
    phases: dict[str, float] = {}
    t0 = time.perf_counter()
    skus = pd.Index(items["sku"])
    rows, cq, levels, cum_mean = forecast_arrays(frame, skus)
    t1 = time.perf_counter()
    points = lead_time_points(items["lead_time_periods"].to_numpy(), items["lead_time_std_periods"].to_numpy(), k)
    horizons = points[rows] + 1.0
    comp = component_quantiles_from_cumulative(cq, levels, cum_mean, horizons)
    t2 = time.perf_counter()
    dist = from_component_quantiles(comp)
    t3 = time.perf_counter()
    n = rows.size
    terms = OrderTerms.of(n, unit_cost=items["unit_cost"].to_numpy()[rows])
    abc = np.where(np.arange(n) % 10 == 0, "A", np.where(np.arange(n) % 3 == 0, "B", "C"))
    compute_policy(dist, cum_mean[:, -1] / cum_mean.shape[1], terms, ServiceTargets(), abc, np.full(n, "X"), 12.0)
    t4 = time.perf_counter()
    phases = {"frame_to_arrays": t1 - t0, "quantiles_at_horizons": t2 - t1, "lead_time_mixture": t3 - t2,
              "policy": t4 - t3}  # fmt: skip
    return t4 - t0, phases


def _normal_inputs(frame: pd.DataFrame, items: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per SKU the normal (r,Q) inputs implied by the same forecast: per-period mean and sd (from the spread of the
    cumulative quantiles at the last horizon), protection L + 1 periods, costs per period."""
    skus = pd.Index(items["sku"])
    rows, cq, levels, cum_mean = forecast_arrays(frame, skus)
    big_h = cum_mean.shape[1]
    from scipy.special import ndtri

    z = ndtri(levels)
    sd_h = (cq[:, -1, -1] - cq[:, -1, 0]) / (z[-1] - z[0])
    cost = items["unit_cost"].to_numpy()[rows]
    return {
        "mean": cum_mean[:, -1] / big_h,
        "sd": np.maximum(sd_h / np.sqrt(big_h), 1e-6),
        "lead": items["lead_time_periods"].to_numpy()[rows] + 1.0,
        "h": np.maximum(0.25 * cost / 12.0, 1e-6),
        "p": np.maximum(2.0 * cost, 1e-5),
        "k": np.full(rows.size, 50.0),
    }


def policy_speed(sizes: list[int], stockpyl_skus: int = 1000, seed: int = 0, k: int = 5) -> dict[str, Any]:
    """Time leanplan's policy computation at each size, and per-SKU stockpyl loops on the same inputs.

    Peers, per SKU in a Python loop: stockpyl's (r,Q) loss-function approximation (`r_q_loss_function_approximation`,
    iterative; the closest textbook analogue of our loss-function fill computation) and its normal newsvendor
    (closed form). Both get each SKU's normal mean/sd of demand over L + 1 periods — stockpyl protects over its
    `lead_time`, so we pass L + 1 to compare like with like. stockpyl runs on `stockpyl_skus` SKUs of each set
    and its time is scaled to the full set (its cost per SKU is constant). Our vectorized `textbook.r_q_loss_function`
    on all SKUs checks that the numbers agree.
    """
    from stockpyl.newsvendor import newsvendor_normal
    from stockpyl.rq import r_q_loss_function_approximation

    results: list[dict[str, Any]] = []
    for n in sizes:
        frame, items = synthetic_forecast(n, seed=seed)
        ours, phases = _leanplan_policy_seconds(frame, items, k)
        inputs = _normal_inputs(frame, items)
        m = min(stockpyl_skus, n)
        t0 = time.perf_counter()
        r_peer = np.empty(m)
        q_peer = np.empty(m)
        for i in range(m):  # the peer's way: one call per SKU
            r_peer[i], q_peer[i] = r_q_loss_function_approximation(
                inputs["h"][i], inputs["p"][i], inputs["k"][i], inputs["mean"][i], inputs["sd"][i], inputs["lead"][i]
            )
        rq_seconds = (time.perf_counter() - t0) * n / m
        t0 = time.perf_counter()
        for i in range(m):
            newsvendor_normal(
                inputs["h"][i], inputs["p"][i], inputs["mean"][i] * inputs["lead"][i],
                inputs["sd"][i] * np.sqrt(inputs["lead"][i]),
            )  # fmt: skip
        nv_seconds = (time.perf_counter() - t0) * n / m
        t0 = time.perf_counter()
        r_ours, q_ours = textbook.r_q_loss_function(
            inputs["h"], inputs["p"], inputs["k"], inputs["mean"], inputs["sd"], inputs["lead"]
        )
        ours_rq = time.perf_counter() - t0
        results.append(
            {
                "skus": n,
                "leanplan_policy_seconds": round(ours, 3),
                "leanplan_phases": {k: round(v, 3) for k, v in phases.items()},
                "stockpyl_rq_loop_seconds": round(rq_seconds, 2),
                "stockpyl_newsvendor_loop_seconds": round(nv_seconds, 3),
                "stockpyl_skus_timed": m,
                "ratio_stockpyl_rq_over_leanplan": round(rq_seconds / ours, 2),
                "ratio_stockpyl_newsvendor_over_leanplan": round(nv_seconds / ours, 3),
                "vectorized_rq_seconds": round(ours_rq, 4),
                "ratio_stockpyl_rq_over_vectorized_rq": round(rq_seconds / ours_rq, 1),
                "vectorized_rq_max_abs_diff_r": float(np.max(np.abs(r_ours[:m] - r_peer))),
                "vectorized_rq_max_abs_diff_q": float(np.max(np.abs(q_ours[:m] - q_peer))),
            }
        )
        log.info("policy speed %s", results[-1])
    return {"sizes": results, "lead_time_points": k, "machine": machine()}

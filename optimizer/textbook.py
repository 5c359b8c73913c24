"""Textbook inventory models, vectorized over SKUs: EOQ, newsvendor, (r,Q) and loss functions.

Every function takes scalars or numpy arrays (broadcast against each other) and returns arrays of the broadcast
shape, so one call prices a whole portfolio. Units are whatever the caller uses consistently: demand per unit of
time, holding and stockout cost per unit and per the same unit of time, lead time in that unit of time.

Reference for every formula: L. V. Snyder and Z.-J. M. Shen, *Fundamentals of Supply Chain Theory*, 2nd ed.,
Wiley 2019 (chapters 3–5); the tests reproduce the book's examples (`tests/optimizer/data/snyder_shen_cases.json`).

Public interface:

- loss functions: `normal_loss`, `normal_second_loss`, `poisson_loss`
- EOQ: `eoq`, `eoq_cost`, `eoq_all_units_discounts`
- newsvendor: `newsvendor_normal`, `newsvendor_normal_cost`, `newsvendor_normal_profit`, `newsvendor_poisson`
- (r,Q): `r_q_cost`, `r_q_optimal_r_for_q`, `r_q_eoqss`, `r_q_eoqb`, `r_q_eil`, `r_q_loss_function`
- wrappers around stockpyl for the exact discrete models: `s_S_poisson_exact`, `wagner_whitin`
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri
from scipy.stats import poisson

ArrayLike = Any
Array = np.ndarray

_SQRT_2PI = np.sqrt(2.0 * np.pi)


def _arr(*values: ArrayLike) -> list[Array]:
    return [np.asarray(v, dtype=float) for v in np.broadcast_arrays(*values)]


def _phi(z: Array) -> Array:
    return np.exp(-0.5 * z * z) / _SQRT_2PI


def _positive(name: str, value: Array) -> None:
    if np.any(~(value > 0)):
        raise ValueError(f"{name} must be > 0 everywhere; got min {np.nanmin(value)}")


# --- loss functions --------------------------------------------------------------------------------------------


def normal_loss(x: ArrayLike, mean: ArrayLike, sd: ArrayLike) -> Array:
    """First-order loss E[(D − x)⁺] of D ~ N(mean, sd²) (units of D). S&S §C.3.1: n(x) = σ·[φ(z) − z(1 − Φ(z))]."""
    x, mean, sd = _arr(x, mean, sd)
    z = (x - mean) / sd
    return sd * (_phi(z) - z * (1.0 - ndtr(z)))


def normal_second_loss(x: ArrayLike, mean: ArrayLike, sd: ArrayLike) -> Array:
    """Second-order loss ½·E[((D − x)⁺)²] = ∫ₓ^∞ n(y) dy of D ~ N(mean, sd²) (units of D²). S&S §C.3.1."""
    x, mean, sd = _arr(x, mean, sd)
    z = (x - mean) / sd
    return 0.5 * sd * sd * ((z * z + 1.0) * (1.0 - ndtr(z)) - z * _phi(z))


def poisson_loss(x: ArrayLike, mean: ArrayLike) -> Array:
    """First-order loss E[(D − x)⁺] of D ~ Poisson(mean) at integer x: (mean − x)(1 − F(x)) + mean·f(x)."""
    x, mean = _arr(x, mean)
    return (mean - x) * poisson.sf(x, mean) + mean * poisson.pmf(x, mean)


# --- EOQ -------------------------------------------------------------------------------------------------------


def eoq(fixed_cost: ArrayLike, holding_cost: ArrayLike, demand_rate: ArrayLike) -> tuple[Array, Array]:
    """Economic order quantity Q* = √(2Kλ/h) and its cost √(2Kλh) per unit time (S&S eq. 3.5–3.6).

    fixed_cost K per order, holding_cost h per unit per unit time, demand_rate λ units per unit time.
    """
    k, h, lam = _arr(fixed_cost, holding_cost, demand_rate)
    _positive("holding_cost", h)
    return np.sqrt(2.0 * k * lam / h), np.sqrt(2.0 * k * lam * h)


def eoq_cost(
    order_quantity: ArrayLike, fixed_cost: ArrayLike, holding_cost: ArrayLike, demand_rate: ArrayLike
) -> Array:
    """Cost per unit time of ordering Q at a time: Kλ/Q + hQ/2 (S&S eq. 3.3)."""
    q, k, h, lam = _arr(order_quantity, fixed_cost, holding_cost, demand_rate)
    _positive("order_quantity", q)
    return k * lam / q + h * q / 2.0


def eoq_all_units_discounts(
    fixed_cost: float,
    holding_cost_rate: float,
    demand_rate: float,
    breakpoints: Sequence[float],
    unit_costs: Sequence[float],
) -> tuple[float, int, float]:
    """EOQ under all-units quantity discounts (S&S §3.5.2): (Q*, region index, cost incl. purchase per unit time).

    Region j prices every unit at unit_costs[j] when Q ≥ breakpoints[j]; holding cost is holding_cost_rate × price.
    """
    b = np.asarray(breakpoints, dtype=float)
    c = np.asarray(unit_costs, dtype=float)
    if b.shape != c.shape or b.size == 0 or b[0] != 0 or np.any(np.diff(b) <= 0):
        raise ValueError("breakpoints must start at 0, increase, and match unit_costs in length")
    upper = np.append(b[1:], np.inf)
    q_star, _ = eoq(fixed_cost, holding_cost_rate * c, demand_rate)
    # Within region j the best Q is the EOQ pushed into [b_j, b_{j+1}); the upper end is excluded, and a Q above
    # the region is dominated by the next region's lower price.
    q = np.clip(q_star, np.maximum(b, 1e-12), upper)
    feasible = q < upper
    cost = c * demand_rate + fixed_cost * demand_rate / q + holding_cost_rate * c * q / 2.0
    cost = np.where(feasible, cost, np.inf)
    j = int(np.argmin(cost))
    return float(q[j]), j, float(cost[j])


# --- newsvendor ------------------------------------------------------------------------------------------------


def newsvendor_normal_cost(
    base_stock_level: ArrayLike, holding_cost: ArrayLike, stockout_cost: ArrayLike, mean: ArrayLike, sd: ArrayLike
) -> Array:
    """Expected newsvendor cost h·E[(S − D)⁺] + p·E[(D − S)⁺] = h(S − μ) + (h + p)·n(S) for D ~ N(μ, σ²) (S&S 4.3)."""
    s, h, p, mu, sd = _arr(base_stock_level, holding_cost, stockout_cost, mean, sd)
    return h * (s - mu) + (h + p) * normal_loss(s, mu, sd)


def newsvendor_normal(
    holding_cost: ArrayLike, stockout_cost: ArrayLike, mean: ArrayLike, sd: ArrayLike
) -> tuple[Array, Array]:
    """Optimal base-stock level S* = μ + σ·Φ⁻¹(p/(p+h)) and its expected cost (S&S Thm 4.1, eq. 4.13)."""
    h, p, mu, sd = _arr(holding_cost, stockout_cost, mean, sd)
    s = mu + sd * ndtri(p / (p + h))
    return s, newsvendor_normal_cost(s, h, p, mu, sd)


def newsvendor_normal_profit(
    revenue: ArrayLike, purchase_cost: ArrayLike, salvage_value: ArrayLike, mean: ArrayLike, sd: ArrayLike
) -> tuple[Array, Array]:
    """Explicit-revenue newsvendor (S&S §4.3.3): h = c − v, p = r − c; returns S* and the expected profit
    (r − c)μ − g(S*)."""
    r, c, v, mu, sd = _arr(revenue, purchase_cost, salvage_value, mean, sd)
    s, cost = newsvendor_normal(c - v, r - c, mu, sd)
    return s, (r - c) * mu - cost


def newsvendor_poisson(holding_cost: ArrayLike, stockout_cost: ArrayLike, mean: ArrayLike) -> tuple[Array, Array]:
    """Poisson newsvendor (S&S §4.3.2): smallest integer S with F(S) ≥ p/(p+h), and its expected cost."""
    h, p, mu = _arr(holding_cost, stockout_cost, mean)
    s = poisson.ppf(p / (p + h), mu)
    return s, h * (s - mu) + (h + p) * poisson_loss(s, mu)


# --- (r,Q) -----------------------------------------------------------------------------------------------------


def _lead_time_moments(mean: Array, sd: Array, lead_time: Array) -> tuple[Array, Array]:
    return mean * lead_time, sd * np.sqrt(lead_time)


def r_q_cost(
    reorder_point: ArrayLike,
    order_quantity: ArrayLike,
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    fixed_cost: ArrayLike,
    demand_mean: ArrayLike,
    demand_sd: ArrayLike,
    lead_time: ArrayLike,
) -> Array:
    """Exact expected cost per unit time of a continuous-review (r,Q) policy with normal demand (S&S eq. 5.7).

    g(r,Q) = [Kλ + ∫ᵣ^{r+Q} g(y) dy]/Q with g(y) = h(y − μ_L) + (h + p)·n(y); the integral is closed-form through the
    second-order loss function. demand_mean λ and demand_sd σ per unit time; lead_time L in that unit.
    """
    r, q, h, p, k, lam, sd, lt = _arr(
        reorder_point, order_quantity, holding_cost, stockout_cost, fixed_cost, demand_mean, demand_sd, lead_time
    )
    _positive("order_quantity", q)
    mu_l, sd_l = _lead_time_moments(lam, sd, lt)
    linear = h * (q * (r - mu_l) + q * q / 2.0)
    shortage = (h + p) * (normal_second_loss(r, mu_l, sd_l) - normal_second_loss(r + q, mu_l, sd_l))
    return (k * lam + linear + shortage) / q


def r_q_optimal_r_for_q(
    order_quantity: ArrayLike,
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    demand_mean: ArrayLike,
    demand_sd: ArrayLike,
    lead_time: ArrayLike,
    tol: float = 1e-9,
) -> Array:
    """The reorder point r minimizing g(r,Q) for a given Q: solves g(r) = g(r + Q), i.e. hQ = (h+p)[n(r) − n(r+Q)]
    (S&S §5.2.3), by vectorized bisection on r ∈ [S* − 5Q, S*]."""
    q, h, p, lam, sd, lt = _arr(order_quantity, holding_cost, stockout_cost, demand_mean, demand_sd, lead_time)
    mu_l, sd_l = _lead_time_moments(lam, sd, lt)
    s_star = mu_l + sd_l * ndtri(p / (p + h))
    lo, hi = s_star - 5.0 * q - 10.0 * sd_l, s_star.copy()
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        gap = (h + p) * (normal_loss(mid, mu_l, sd_l) - normal_loss(mid + q, mu_l, sd_l)) - h * q
        hi = np.where(gap < 0, mid, hi)
        lo = np.where(gap < 0, lo, mid)
        if np.max(hi - lo) < tol:
            break
    return 0.5 * (lo + hi)


def r_q_eoqss(
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    fixed_cost: ArrayLike,
    demand_mean: ArrayLike,
    demand_sd: ArrayLike,
    lead_time: ArrayLike,
) -> tuple[Array, Array]:
    """EOQ + safety stock approximation (S&S §5.2.4): Q = EOQ, r = newsvendor quantile of lead-time demand."""
    h, p, k, lam, sd, lt = _arr(holding_cost, stockout_cost, fixed_cost, demand_mean, demand_sd, lead_time)
    mu_l, sd_l = _lead_time_moments(lam, sd, lt)
    q, _ = eoq(k, h, lam)
    return mu_l + sd_l * ndtri(p / (p + h)), q


def r_q_eoqb(
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    fixed_cost: ArrayLike,
    demand_mean: ArrayLike,
    demand_sd: ArrayLike,
    lead_time: ArrayLike,
) -> tuple[Array, Array]:
    """EOQ with backorders approximation (S&S §5.2.4): Q = √(2Kλ(h+p)/(hp)), then the optimal r for that Q."""
    h, p, k, lam, sd, lt = _arr(holding_cost, stockout_cost, fixed_cost, demand_mean, demand_sd, lead_time)
    q = np.sqrt(2.0 * k * lam * (h + p) / (h * p))
    return r_q_optimal_r_for_q(q, h, p, lam, sd, lt), q


def _solve_normal_loss(target: Array, mean: Array, sd: Array) -> Array:
    """x with n(x) = target for D ~ N(mean, sd²): Newton on the standard loss L(z) = φ(z) − z(1 − Φ(z)),
    whose derivative is Φ(z) − 1."""
    goal = target / sd
    z = np.zeros_like(goal)
    for _ in range(100):
        loss = _phi(z) - z * (1.0 - ndtr(z))
        step = (loss - goal) / np.minimum(ndtr(z) - 1.0, -1e-300)
        z = z - step
        if np.max(np.abs(step)) < 1e-13:
            break
    return mean + sd * z


def r_q_loss_function(
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    fixed_cost: ArrayLike,
    demand_mean: ArrayLike,
    demand_sd: ArrayLike,
    lead_time: ArrayLike,
    tol: float = 1e-6,
    max_iter: int = 1000,
) -> tuple[Array, Array]:
    """Loss-function approximation of the optimal (r,Q) (S&S §5.2.5): iterate n(r) = hQ/(h+p) and
    Q = √(2[Kλ + (h+p)·n⁽²⁾(r)]/h) from Q = EOQ until r and Q move less than `tol`. Vectorized over SKUs."""
    h, p, k, lam, sd, lt = _arr(holding_cost, stockout_cost, fixed_cost, demand_mean, demand_sd, lead_time)
    _positive("holding_cost", h)
    mu_l, sd_l = _lead_time_moments(lam, sd, lt)
    q, _ = eoq(k, h, lam)
    r = np.zeros_like(q)
    for _ in range(max_iter):
        r_new = _solve_normal_loss(h * q / (h + p), mu_l, sd_l)
        q_new = np.sqrt(2.0 * (k * lam + (h + p) * normal_second_loss(r_new, mu_l, sd_l)) / h)
        done = max(np.max(np.abs(r_new - r), initial=0.0), np.max(np.abs(q_new - q), initial=0.0)) <= tol
        r, q = r_new, q_new
        if done:
            break
    return r, q


def r_q_eil(
    holding_cost: ArrayLike,
    stockout_cost: ArrayLike,
    fixed_cost: ArrayLike,
    demand_mean: ArrayLike,
    demand_sd: ArrayLike,
    lead_time: ArrayLike,
    tol: float = 1e-6,
    max_iter: int = 1000,
) -> tuple[Array, Array, Array]:
    """Expected-inventory-level approximation (S&S §5.2.4, eqs. 5.16–5.17): iterate r = F⁻¹(1 − Qh/(pλ)) and
    Q = √(2λ[K + p·n(r)]/h); returns (r, Q, approximate cost per unit time)."""
    h, p, k, lam, sd, lt = _arr(holding_cost, stockout_cost, fixed_cost, demand_mean, demand_sd, lead_time)
    _positive("holding_cost", h)
    mu_l, sd_l = _lead_time_moments(lam, sd, lt)
    q, _ = eoq(k, h, lam)
    r = np.zeros_like(q)
    for _ in range(max_iter):
        r_new = mu_l + sd_l * ndtri(1.0 - q * h / (p * lam))
        q_new = np.sqrt(2.0 * lam * (k + p * normal_loss(r_new, mu_l, sd_l)) / h)
        done = max(np.max(np.abs(r_new - r), initial=0.0), np.max(np.abs(q_new - q), initial=0.0)) <= tol
        r, q = r_new, q_new
        if done:
            break
    loss = normal_loss(r, mu_l, sd_l)
    cost = h * (r - mu_l + q / 2.0) + k * lam / q + p * lam * loss / q
    return r, q, cost


# --- exact discrete models (stockpyl) --------------------------------------------------------------------------


def s_S_poisson_exact(
    holding_cost: float, stockout_cost: float, fixed_cost: float, demand_mean: float
) -> tuple[int, int, float]:
    """Optimal periodic-review (s,S) with Poisson demand and zero lead time (Zheng & Federgruen 1991, S&S §4.6):
    (s, S, expected cost per period), computed by stockpyl's exact algorithm."""
    from stockpyl.ss import s_s_discrete_exact

    s, big_s, cost = s_s_discrete_exact(holding_cost, stockout_cost, fixed_cost, True, demand_mean, None, None)
    return int(s), int(big_s), float(cost)


def wagner_whitin(
    demand: Sequence[float], holding_cost: float, fixed_cost: float, purchase_cost: float = 0.0
) -> tuple[list[float], float]:
    """Optimal uncapacitated lot sizes for known demand per period (Wagner & Whitin 1958, S&S §3.6):
    (order quantity per period, period 1 first; total cost), computed by stockpyl."""
    from stockpyl.wagner_whitin import wagner_whitin as _ww

    if len(demand) == 0:
        raise ValueError("demand must hold at least one period")
    orders, cost, _, _ = _ww(len(demand), holding_cost, fixed_cost, [0, *demand], purchase_cost)
    return [float(q) for q in list(orders)[1:]], float(cost)

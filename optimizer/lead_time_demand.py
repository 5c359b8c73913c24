"""Demand over the protection interval (lead time + review period), mixed over the lead-time distribution.

A policy needs, per SKU, the distribution of D = demand over L + R periods, where L is the supplier's random lead
time and R the review period. We build it from *cumulative-demand quantiles* (the forecast frame's `cq…` columns,
see `models.schema`) or from any per-component quantile function, and keep it in one form that every policy
computation uses vectorized over all SKUs:

- **Knots.** The quantile function is stored at fixed levels `KNOT_LEVELS` (0, 0.05, …, 0.9, then upper-tail
  levels 0.95, 0.98, 0.99, …, 1 − 10⁻⁵) and is linear between them — demand is uniform within each probability
  segment — with an exponential tail beyond the last knot (mass 10⁻⁵, scale from the last two knots). Expected
  shortage (first-order loss), CDF and quantiles are closed-form on this shape.
- **Tail model.** An empirical quantile alone caps the reachable service at the largest value seen, so high fill
  rates on intermittent demand are unreachable (FIELD-NOTES.md, "Inventory policies replayed on RAF"). Above a
  forecast's highest quantile level the quantile function therefore continues as an exponential tail, its scale
  the larger of the fit to the top two levels and the scale that makes the distribution's mean equal the forecast
  mean.
- **Lead-time mixture.** The lead time is K equally likely points (`lead_time_points`). Each point gives one
  component; the mixture's CDF is the average of the components' CDFs, computed exactly for these piecewise-linear
  shapes at the pooled knots and read back at `KNOT_LEVELS`, so every SKU has the same 31 knots whatever K.
- **Horizons.** Cumulative quantiles at a fractional horizon h are interpolated linearly between ⌊h⌋ and ⌈h⌉
  (zero demand at h = 0); beyond the forecast horizon H the mean grows linearly and the spread around it as √(h/H).
- **Undershoot.** With periodic review the inventory position is seldom exactly at the reorder point when an order
  is triggered: it has fallen below it by the undershoot U, and the lead-time demand must then be covered by s − U.
  The protection distribution is therefore D(L+R) + U, U independent with the renewal-theory moments of the
  per-period demand (`undershoot_moments`). Leaving U out made the expected fill rate optimistic by 5–10 points on
  lumpy demand in the replay.

Public interface: `KNOT_LEVELS`, `TAIL_MASS`, `MAX_LEVEL`, `DemandDistribution` (`quantile`, `cdf`,
`expected_shortage`, `take`), `from_component_quantiles`, `component_quantiles_from_cumulative`, `lead_time_points`,
`undershoot_moments`, `add_undershoot`.

References: loss functions, Snyder & Shen, *Fundamentals of Supply Chain Theory* 2nd ed. (2019) §C.3; protection
over L + R and the undershoot of (R, s, S) systems, Silver, Pyke & Thomas, *Inventory and Production Management in
Supply Chains* 4th ed. (2017) §6.7 and §7.3; ladder heights of a renewal process, Tijms, *A First Course in
Stochastic Models* (2003) §8.2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaincinv

Array = np.ndarray

#: levels at which every distribution stores its quantile function
KNOT_LEVELS = np.concatenate(
    [
        np.linspace(0.0, 0.9, 19),
        1.0 - np.array([0.05, 0.02, 0.01, 0.005, 0.002, 0.001, 5e-4, 2e-4, 1e-4, 5e-5, 2e-5, 1e-5]),
    ]
)
#: probability beyond the last knot, modelled as an exponential tail
TAIL_MASS = 1.0 - KNOT_LEVELS[-1]
#: highest level a quantile is computed for (service targets above it are served at it)
MAX_LEVEL = 1.0 - 1e-9

_MASS = np.diff(KNOT_LEVELS)  # probability of each segment between consecutive knots
_SUFFIX_MASS = np.concatenate([np.cumsum(_MASS[::-1])[::-1], [0.0]])  # Σ_{a ≥ i} mass_a, trailing 0
_ROW_SPAN = 4.0  # offset between rows when flattening values normalized to [-1, 2] for one searchsorted call
_MIX_CHUNK = 2_000_000  # rows × K × K × J elements handled at a time when mixing lead-time components


def _tail_scale(x: Array) -> Array:
    """Scale of the exponential tail beyond the last knot, from the last two knots' spacing."""
    return np.maximum((x[..., -1] - x[..., -2]) / np.log((1 - KNOT_LEVELS[-2]) / TAIL_MASS), 0.0)


@dataclass
class DemandDistribution:
    """Per SKU (rows), the distribution of demand over the protection interval.

    `x` (n, 31): quantiles at `KNOT_LEVELS` (units), non-decreasing per row; `theta` (n,): scale of the exponential
    tail beyond the last knot; `mean` (n,): the expectation.
    """

    x: Array
    theta: Array
    mean: Array

    def __post_init__(self) -> None:
        self.x = np.asarray(self.x, dtype=float)
        self.theta = np.asarray(self.theta, dtype=float)
        self.mean = np.asarray(self.mean, dtype=float)
        if self.x.ndim != 2 or self.x.shape[1] != KNOT_LEVELS.size:
            raise ValueError(f"knots must have shape (n, {KNOT_LEVELS.size}); got {self.x.shape}")
        n = self.x.shape[0]
        mid = 0.5 * (self.x[:, 1:] + self.x[:, :-1])
        self._suffix_mean = np.concatenate(
            [np.cumsum((mid * _MASS)[:, ::-1], axis=1)[:, ::-1], np.zeros((n, 1))], axis=1
        )
        self._lo = self.x[:, :1]
        self._scale = np.maximum(self.x[:, -1:] - self._lo, 1e-12)
        self._keys = ((self.x - self._lo) / self._scale + np.arange(n, dtype=float)[:, None] * _ROW_SPAN).ravel()

    @classmethod
    def from_knots(cls, x: Array) -> DemandDistribution:
        """A distribution from its knots alone: tail scale from the last two knots, mean computed."""
        x = np.maximum.accumulate(np.maximum(np.asarray(x, dtype=float), 0.0), axis=1)
        theta = _tail_scale(x)
        mean = (0.5 * (x[:, 1:] + x[:, :-1]) * _MASS).sum(axis=1) + TAIL_MASS * (x[:, -1] + theta)
        return cls(x=x, theta=theta, mean=mean)

    @property
    def n(self) -> int:
        return int(self.x.shape[0])

    def take(self, rows: Array) -> DemandDistribution:
        """The distributions of the given rows."""
        return DemandDistribution(self.x[rows], self.theta[rows], self.mean[rows])

    def quantile(self, level: Array) -> Array:
        """The level-quantile per row (units); levels above `MAX_LEVEL` are read at `MAX_LEVEL`."""
        u = np.clip(np.broadcast_to(np.asarray(level, dtype=float), (self.n,)), 0.0, MAX_LEVEL)
        seg = np.clip(np.searchsorted(KNOT_LEVELS, u, side="right") - 1, 0, KNOT_LEVELS.size - 2)
        rows = np.arange(self.n)
        lo, hi = self.x[rows, seg], self.x[rows, seg + 1]
        f = np.clip((u - KNOT_LEVELS[seg]) / _MASS[seg], 0.0, 1.0)
        inside = lo + (hi - lo) * f
        beyond = self.x[:, -1] + self.theta * np.log(TAIL_MASS / np.maximum(1.0 - u, 1e-300))
        return np.where(u > KNOT_LEVELS[-1], beyond, inside)

    def _count_le(self, values: Array) -> Array:
        """Per row, how many knots are ≤ values[row] (values: (n,) or (n, k))."""
        v = np.asarray(values, dtype=float)
        v2 = v if v.ndim == 2 else v[:, None]
        m = self.x.shape[1]
        rows = np.arange(self.n)[:, None]
        keys = np.clip((v2 - self._lo) / self._scale, -1.0, 2.0) + rows * _ROW_SPAN
        counts = np.searchsorted(self._keys, keys.ravel(), side="right").reshape(keys.shape) - rows * m
        counts = np.clip(counts, 0, m)
        return counts if v.ndim == 2 else counts[:, 0]

    def expected_shortage(self, stock: Array) -> Array:
        """First-order loss E[(D − stock)⁺] per row (units): expected demand not covered by `stock`.

        stock: (n,) or (n, k). Exact for the piecewise-uniform body plus exponential tail.
        """
        y = np.asarray(stock, dtype=float)
        two_d = y.ndim == 2
        idx = self._count_le(y)
        rows = np.arange(self.n)[:, None] if two_d else np.arange(self.n)
        above = np.minimum(idx, KNOT_LEVELS.size - 1)  # first segment entirely above y
        full = self._suffix_mean[rows, above] - y * _SUFFIX_MASS[above]
        seg = np.clip(idx - 1, 0, KNOT_LEVELS.size - 2)
        a, b = self.x[rows, seg], self.x[rows, seg + 1]
        inside = (idx >= 1) & (idx <= KNOT_LEVELS.size - 1) & (b > y)
        partial = np.where(inside, _MASS[seg] * (b - y) ** 2 / (2.0 * np.maximum(b - a, 1e-300)), 0.0)
        top = self.x[:, -1][:, None] if two_d else self.x[:, -1]
        theta = self.theta[:, None] if two_d else self.theta
        tail = np.where(
            y < top,
            TAIL_MASS * (top - y + theta),
            TAIL_MASS * theta * np.exp(-np.maximum(y - top, 0.0) / np.maximum(theta, 1e-300)),
        )
        tail = np.where((theta <= 0) & (y >= top), 0.0, tail)
        return np.maximum(full + partial + tail, 0.0)

    def cdf(self, value: Array) -> Array:
        """P(D ≤ value) per row."""
        y = np.asarray(value, dtype=float)
        idx = self._count_le(y)
        rows = np.arange(self.n)
        seg = np.clip(idx - 1, 0, KNOT_LEVELS.size - 2)
        a, b = self.x[rows, seg], self.x[rows, seg + 1]
        f = np.clip((y - a) / np.maximum(b - a, 1e-300), 0.0, 1.0)
        inside = np.where(b > a, KNOT_LEVELS[seg] + _MASS[seg] * f, KNOT_LEVELS[np.minimum(idx, KNOT_LEVELS.size - 1)])
        top = self.x[:, -1]
        beyond = 1.0 - TAIL_MASS * np.exp(-np.maximum(y - top, 0.0) / np.maximum(self.theta, 1e-300))
        return np.where(idx == 0, 0.0, np.where(y >= top, beyond, inside))


def _mix(q: Array) -> Array:
    """Knots of the mixture of K piecewise-linear quantile functions (rows, K, J) → (rows, J): the mixture CDF is
    the average of the components' CDFs, evaluated exactly at all pooled knots, then inverted at KNOT_LEVELS.
    Computed in float32 (7 significant digits), which halves the memory traffic of the (rows, K·J, K) arrays."""
    n, k, j = q.shape
    levels = KNOT_LEVELS.astype(np.float32)
    pooled = q.reshape(n, k * j).astype(np.float32)
    order = np.argsort(pooled, axis=1, kind="stable")
    values = np.take_along_axis(pooled, order, axis=1)  # (n, M)
    component = (order // j).astype(np.int16)
    # how many knots of each component are <= each pooled value: cumulative one-hot counts (n, M, K)
    onehot = component[:, :, None] == np.arange(k, dtype=np.int16)[None, None, :]
    counts = np.cumsum(onehot, axis=1, dtype=np.int16)
    upper = np.minimum(counts, j - 1)  # the component's knot at or above the value
    lower = np.maximum(counts - 1, 0)  # … and at or below it
    q_t = np.ascontiguousarray(np.transpose(q.astype(np.float32), (0, 2, 1)))  # (n, J, K)
    x_lo = np.take_along_axis(q_t, lower, axis=1)
    x_hi = np.take_along_axis(q_t, upper, axis=1)
    width = x_hi - x_lo
    frac = np.divide(values[:, :, None] - x_lo, width, out=np.ones_like(width), where=width > 0)
    np.clip(frac, 0.0, 1.0, out=frac)
    level_lo = levels[lower]
    cdf_k = level_lo + (levels[upper] - level_lo) * frac
    cdf_k[counts == 0] = 0.0
    mix_cdf = np.maximum.accumulate(cdf_k.mean(axis=2, dtype=np.float64), axis=1)  # (n, M)
    values = values.astype(float)
    # invert: the value where the mixture CDF reaches each knot level (linear between pooled values)
    rows = np.arange(n, dtype=float)[:, None] * 2.0
    m = k * j
    pos = np.searchsorted((mix_cdf + rows).ravel(), (KNOT_LEVELS[None, :] + rows).ravel(), side="left")
    pos = pos.reshape(n, j) - np.arange(n)[:, None] * m
    hi_i = np.clip(pos, 0, m - 1)
    lo_i = np.clip(pos - 1, 0, m - 1)
    c_lo = np.take_along_axis(mix_cdf, lo_i, axis=1)
    c_hi = np.take_along_axis(mix_cdf, hi_i, axis=1)
    v_lo = np.take_along_axis(values, lo_i, axis=1)
    v_hi = np.take_along_axis(values, hi_i, axis=1)
    f = np.clip((KNOT_LEVELS[None, :] - c_lo) / np.maximum(c_hi - c_lo, 1e-300), 0.0, 1.0)
    out = np.where(c_hi > c_lo, v_lo + (v_hi - v_lo) * f, v_hi)
    return np.maximum.accumulate(out, axis=1)


def from_component_quantiles(component_quantiles: Array, mean: Array | None = None) -> DemandDistribution:
    """Mix K equally likely lead-time components into one distribution per SKU.

    component_quantiles: (n, K, 31) — quantiles at `KNOT_LEVELS` of demand over the protection interval of each
    lead-time point (units). mean: (n,) expectation; default the mixture's own mean.
    """
    q = np.asarray(component_quantiles, dtype=float)
    if q.ndim != 3 or q.shape[2] != KNOT_LEVELS.size:
        raise ValueError(f"component quantiles must have shape (n, K, {KNOT_LEVELS.size}); got {q.shape}")
    if not np.isfinite(q).all():
        raise ValueError("component quantiles hold NaN or infinite values")
    _, k, j = q.shape
    q = np.maximum.accumulate(np.maximum(q, 0.0), axis=2)
    theta_k = _tail_scale(q)  # (n, K)
    component_mean = (0.5 * (q[..., 1:] + q[..., :-1]) * _MASS).sum(axis=2) + TAIL_MASS * (q[..., -1] + theta_k)
    x = q[:, 0, :].copy()
    varying = np.flatnonzero(~(q == q[:, :1, :]).all(axis=(1, 2))) if k > 1 else np.zeros(0, dtype=int)
    step = max(1, _MIX_CHUNK // (k * k * j))
    for lo in range(0, varying.size, step):  # bounded memory; each chunk is vectorized over its SKUs
        rows = varying[lo : lo + step]
        x[rows] = _mix(q[rows])
    theta = np.maximum(_tail_scale(x), theta_k.max(axis=1))
    return DemandDistribution(x=x, theta=theta, mean=component_mean.mean(axis=1) if mean is None else mean)


def lead_time_points(mean: Array, std: Array, k: int) -> Array:
    """K equally likely lead-time points (n, K) of a gamma lead time with the given mean and std (same unit): its
    quantiles at the stratum midpoints (i + ½)/K. A zero std gives K copies of the mean."""
    mean = np.asarray(mean, dtype=float)
    std = np.asarray(std, dtype=float)
    if np.any(mean < 0) or np.any(std < 0) or not (np.isfinite(mean).all() and np.isfinite(std).all()):
        raise ValueError("lead-time mean and std must be finite and >= 0")
    if k < 1:
        raise ValueError(f"k must be >= 1; got {k}")
    u = (np.arange(k) + 0.5) / k
    out = np.repeat(mean[:, None], k, axis=1)
    varying = (std > 0) & (mean > 0)
    if varying.any():
        shape = (mean[varying] / std[varying]) ** 2
        scale = std[varying] ** 2 / mean[varying]
        out[varying] = gammaincinv(shape[:, None], u[None, :]) * scale[:, None]
    return out


def _level_interpolation(levels: Array) -> tuple[Array, Array, Array, Array]:
    """For each knot level: index of the known level below, interpolation fraction, and masks below/above range."""
    below = levels[0] > KNOT_LEVELS
    above = levels[-1] < KNOT_LEVELS
    idx = np.clip(np.searchsorted(levels, KNOT_LEVELS, side="right") - 1, 0, max(levels.size - 2, 0))
    if levels.size > 1:
        frac = np.clip((KNOT_LEVELS - levels[idx]) / (levels[idx + 1] - levels[idx]), 0.0, 1.0)
    else:
        frac = np.zeros_like(KNOT_LEVELS)
    return idx, frac, below, above


def component_quantiles_from_cumulative(
    cum_quantiles: Array,
    levels: Array,
    cum_mean: Array,
    horizons: Array,
) -> Array:
    """Quantiles at `KNOT_LEVELS` of cumulative demand at fractional horizons, from a forecast's cumulative quantiles.

    cum_quantiles: (n, H, P) quantiles of demand over steps 1..h (h = 1..H) at `levels` (P,), non-decreasing in
    the level; cum_mean: (n, H) expected cumulative demand; horizons: (n, K) protection intervals in periods
    (lead-time point + review period). Returns (n, K, 31) for `from_component_quantiles`.

    Between known levels the quantile function is linear; below the lowest level it falls linearly to 0 at level
    0; above the highest it continues as an exponential tail with scale θ = max(θ_fit, θ_mean): θ_fit from the top
    two levels, θ_mean so that the distribution's mean equals cum_mean.
    """
    cq = np.asarray(cum_quantiles, dtype=float)
    levels = np.asarray(levels, dtype=float)
    cm = np.asarray(cum_mean, dtype=float)
    h = np.asarray(horizons, dtype=float)
    if cq.ndim != 3:
        raise ValueError(f"cum_quantiles must be (n, H, P); got shape {cq.shape}")
    n, big_h, p = cq.shape
    if p < 1 or levels.shape != (p,) or np.any(np.diff(levels) <= 0) or levels[0] <= 0 or levels[-1] >= 1:
        raise ValueError("levels must be increasing, inside (0, 1), and match the last axis of cum_quantiles")
    if big_h < 1 or cm.shape != (n, big_h) or h.ndim != 2 or h.shape[0] != n:
        raise ValueError("cum_mean must be (n, H) with H >= 1, and horizons (n, K)")
    if np.any(h < 0) or not np.isfinite(h).all():
        raise ValueError("horizons must be finite and >= 0")
    zq = np.concatenate([np.zeros((n, 1, p)), cq], axis=1)
    zm = np.concatenate([np.zeros((n, 1)), cm], axis=1)
    inside = np.minimum(h, big_h)
    lo = np.floor(inside).astype(int)
    hi = np.minimum(lo + 1, big_h)
    f = inside - lo
    rows = np.arange(n)[:, None]
    q_h = zq[rows, lo] * (1 - f[..., None]) + zq[rows, hi] * f[..., None]
    m_h = zm[rows, lo] * (1 - f) + zm[rows, hi] * f
    beyond = h > big_h
    if beyond.any():
        ratio = np.where(beyond, h / big_h, 1.0)
        m_far = zm[:, -1][:, None] * ratio
        spread = zq[:, -1][:, None, :] - zm[:, -1][:, None, None]
        q_far = m_far[..., None] + spread * np.sqrt(ratio)[..., None]
        q_h = np.where(beyond[..., None], np.maximum(q_far, 0.0), q_h)
        m_h = np.where(beyond, m_far, m_h)
    q_h = np.maximum.accumulate(np.maximum(q_h, 0.0), axis=-1)
    idx, frac, below, above = _level_interpolation(levels)
    body = q_h[..., idx] * (1 - frac) + q_h[..., idx + 1] * frac if p > 1 else np.repeat(q_h, KNOT_LEVELS.size, -1)
    body = np.where(below, q_h[..., :1] * (KNOT_LEVELS / levels[0]), body)
    top = q_h[..., -1]
    p_top = levels[-1]
    theta_fit = (q_h[..., -1] - q_h[..., -2]) / np.log((1 - levels[-2]) / (1 - p_top)) if p > 1 else np.zeros_like(top)
    widths = np.diff(np.concatenate([[0.0], levels]))
    knots = np.concatenate([np.zeros((*q_h.shape[:-1], 1)), q_h], axis=-1)
    body_mean = (0.5 * (knots[..., 1:] + knots[..., :-1]) * widths).sum(axis=-1)
    theta_mean = (m_h - body_mean) / (1 - p_top) - top
    theta = np.maximum(np.maximum(theta_fit, theta_mean), 0.0)
    tail = top[..., None] + theta[..., None] * np.log((1 - p_top) / (1 - KNOT_LEVELS))
    return np.where(above, tail, body)


def undershoot_moments(mean: Array, var: Array, integer: bool = True) -> tuple[Array, Array]:
    """Mean and variance of the undershoot U below the reorder point when an order is triggered (units).

    U is the ladder height of the per-period demand D₁ (mean μ, variance σ², third moment from a gamma shape):
    E[U] = E[D₁²]/(2μ), E[U²] = E[D₁³]/(3μ) for continuous demand; for whole units (an order is triggered when the
    position is at least one unit below s) E[U] = E[D₁(D₁+1)]/(2μ), E[U²] = E[D₁(D₁+1)(2D₁+1)]/(6μ).
    Zero for SKUs without demand.
    """
    mu = np.asarray(mean, dtype=float)
    v = np.maximum(np.asarray(var, dtype=float), 0.0)
    positive = mu > 0
    m2 = v + mu * mu
    m3 = mu**3 + 3 * mu * v + 2 * np.divide(v * v, mu, out=np.zeros_like(mu), where=positive)
    if integer:
        first = np.divide(m2 + mu, 2 * mu, out=np.zeros_like(mu), where=positive)
        second = np.divide(2 * m3 + 3 * m2 + mu, 6 * mu, out=np.zeros_like(mu), where=positive)
    else:
        first = np.divide(m2, 2 * mu, out=np.zeros_like(mu), where=positive)
        second = np.divide(m3, 3 * mu, out=np.zeros_like(mu), where=positive)
    return first, np.maximum(second - first * first, 0.0)


def add_undershoot(component_quantiles: Array, mean: Array, u_mean: Array, u_var: Array) -> Array:
    """Quantiles of D + U from quantiles of D (n, K, J) with means `mean` (n, K), for an independent U with the
    given mean and variance (n,): a location-scale approximation — shift by E[U], scale the spread around the mean
    by √((Var D + Var U)/Var D), Var D from the knots."""
    q = np.asarray(component_quantiles, dtype=float)
    m = np.asarray(mean, dtype=float)
    mid = 0.5 * (q[..., 1:] + q[..., :-1])
    second = ((q[..., 1:] ** 2 + q[..., :-1] ** 2 + q[..., 1:] * q[..., :-1]) / 3.0 * _MASS).sum(axis=-1)
    var_d = np.maximum(second - ((mid * _MASS).sum(axis=-1)) ** 2, 0.0)
    scale = np.sqrt(np.divide(var_d + u_var[:, None], var_d, out=np.ones_like(var_d), where=var_d > 0))
    out = m[..., None] + u_mean[:, None, None] + (q - m[..., None]) * scale[..., None]
    return np.maximum.accumulate(np.maximum(out, 0.0), axis=-1)

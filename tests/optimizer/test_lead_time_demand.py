"""Demand over the protection interval: knots, tail, lead-time mixture, forecast-frame path, undershoot."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from optimizer.empirical import gamma_quantiles
from optimizer.lead_time_demand import (
    KNOT_LEVELS,
    MAX_LEVEL,
    add_undershoot,
    component_quantiles_from_cumulative,
    from_component_quantiles,
    lead_time_points,
    undershoot_moments,
)


def _gamma_dist(mean: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return mean * mean / var, var / mean


def test_single_component_matches_the_gamma_it_was_built_from() -> None:
    mean = np.array([0.3, 4.0, 120.0])
    var = mean * np.array([6.0, 2.0, 1.5])
    dist = from_component_quantiles(gamma_quantiles(mean, var, tuple(KNOT_LEVELS))[:, None, :], mean=mean)
    shape, scale = _gamma_dist(mean, var)
    for level in (0.5, 0.9, 0.99, 0.999):
        s = dist.quantile(np.full(3, level))
        np.testing.assert_allclose(dist.cdf(s), level, atol=1e-9)
        exact = stats.gamma.ppf(level, shape, scale=scale)
        np.testing.assert_allclose(s, exact, rtol=2e-3, atol=1e-6)
        loss = dist.expected_shortage(s)
        true_loss = np.array(
            [
                stats.gamma.expect(lambda x, s_=s_: x - s_, args=(a,), scale=b, lb=s_)
                for a, b, s_ in zip(shape, scale, s, strict=True)
            ]
        )
        # linear interpolation between knots over-states the loss a little: conservative, never optimistic
        assert np.all(loss >= true_loss * (1 - 1e-3))
        assert np.all(loss <= true_loss * 1.3 + 1e-3)


def test_lead_time_mixture_matches_monte_carlo() -> None:
    rng = np.random.default_rng(7)
    mean_per_period = np.array([0.5, 6.0])
    var_per_period = mean_per_period * np.array([5.0, 1.5])
    lead = lead_time_points(np.array([4.0, 9.0]), np.array([1.5, 3.0]), 5)
    horizons = lead + 1.0
    comp = gamma_quantiles(mean_per_period[:, None] * horizons, var_per_period[:, None] * horizons, tuple(KNOT_LEVELS))
    dist = from_component_quantiles(comp, mean=mean_per_period * horizons.mean(axis=1))
    for i in range(2):
        h = horizons[i][rng.integers(0, 5, 400_000)]
        shape, scale = _gamma_dist(mean_per_period[i] * h, var_per_period[i] * h)
        sims = rng.gamma(shape, scale)
        for level in (0.8, 0.95, 0.995):
            s = dist.quantile(np.full(2, level))[i]
            assert (sims <= s).mean() == pytest.approx(level, abs=0.004)
            got = dist.expected_shortage(np.full(2, s))[i]
            want = np.maximum(sims - s, 0).mean()
            assert want * 0.97 <= got <= want * 1.25 + 1e-3


def test_quantiles_beyond_the_last_knot_follow_the_exponential_tail() -> None:
    dist = from_component_quantiles(gamma_quantiles(np.array([2.0]), np.array([8.0]), tuple(KNOT_LEVELS))[:, None])
    far = dist.quantile(np.array([1 - 1e-7]))
    top = dist.x[0, -1]
    assert far[0] > top
    assert dist.cdf(far)[0] == pytest.approx(1 - 1e-7, rel=1e-9)
    assert dist.quantile(np.array([1.0]))[0] == dist.quantile(np.array([MAX_LEVEL]))[0]
    assert dist.expected_shortage(far)[0] > 0


def test_forecast_path_reproduces_the_distribution_and_its_mean() -> None:
    levels = np.array([0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95])
    mean, var = 1.5, 9.0
    steps = np.arange(1, 13, dtype=float)
    cq = gamma_quantiles(mean * steps, var * steps, tuple(levels))[None]
    cum_mean = (mean * steps)[None]
    horizons = np.array([[4.0, 6.5]])
    comp = component_quantiles_from_cumulative(cq, levels, cum_mean, horizons)
    direct = gamma_quantiles(mean * horizons, var * horizons, tuple(KNOT_LEVELS))
    inside = (KNOT_LEVELS >= 0.05) & (KNOT_LEVELS <= 0.95)
    # h = 4 is a stored horizon: the body is the gamma itself up to level interpolation
    np.testing.assert_allclose(comp[0, 0, inside], direct[0, 0, inside], rtol=0.15, atol=0.3)
    dist = from_component_quantiles(comp[:, :1])
    assert dist.mean[0] == pytest.approx(mean * 4.0, rel=0.05)  # the tail keeps the forecast mean
    # beyond the horizon: mean grows linearly
    far = component_quantiles_from_cumulative(cq, levels, cum_mean, np.array([[24.0]]))
    assert from_component_quantiles(far).mean[0] == pytest.approx(mean * 24.0, rel=0.05)


def _simulated_undershoot(draws: np.ndarray, step: float) -> np.ndarray:
    """How far below a level the falling position lands when it first crosses it (levels `step` apart)."""
    cum = np.cumsum(draws)
    level = np.arange(50.0, cum[-1] - 50.0, step)
    idx = np.searchsorted(cum, level, side="right")  # first period whose cumulative demand exceeds the level
    return cum[idx] - level


def test_undershoot_moments_match_a_simulated_renewal_process() -> None:
    rng = np.random.default_rng(1)
    # continuous gamma demand per period (the moments' third-moment assumption holds exactly)
    draws = rng.gamma(0.4, 5.0, 400_000)
    m_u, v_u = undershoot_moments(np.array([2.0]), np.array([10.0]), integer=False)
    u = _simulated_undershoot(draws, 97.3)
    assert m_u[0] == pytest.approx(u.mean(), rel=0.05)
    assert v_u[0] == pytest.approx(u.var(), rel=0.1)
    # whole units (integer levels and demand): intermittent demand, the mean of the ladder height
    counts = np.where(rng.random(400_000) < 0.3, 1 + rng.poisson(3.0, 400_000), 0).astype(float)
    m_i, _ = undershoot_moments(np.array([counts.mean()]), np.array([counts.var()]), integer=True)
    assert m_i[0] == pytest.approx(_simulated_undershoot(counts, 97.0).mean(), rel=0.05)
    assert undershoot_moments(np.array([0.0]), np.array([0.0]))[0][0] == 0.0


def test_add_undershoot_shifts_the_mean_and_widens() -> None:
    comp = gamma_quantiles(np.array([[10.0]]), np.array([[20.0]]), tuple(KNOT_LEVELS))
    out = add_undershoot(comp, np.array([[10.0]]), np.array([3.0]), np.array([5.0]))
    base = from_component_quantiles(comp, mean=np.array([10.0]))
    shifted = from_component_quantiles(out)
    assert shifted.mean[0] == pytest.approx(13.0, rel=0.03)
    assert np.all(out[0, 0, 1:] >= comp[0, 0, 1:])
    assert shifted.quantile(np.array([0.99]))[0] > base.quantile(np.array([0.99]))[0] + 3.0


def test_lead_time_points() -> None:
    pts = lead_time_points(np.array([0.0, 6.0, 6.0]), np.array([0.0, 0.0, 2.0]), 5)
    np.testing.assert_array_equal(pts[0], 0.0)
    np.testing.assert_array_equal(pts[1], 6.0)
    assert pts[2].mean() == pytest.approx(6.0, rel=0.03)
    assert np.all(np.diff(pts[2]) > 0)
    with pytest.raises(ValueError, match="finite and >= 0"):
        lead_time_points(np.array([-1.0]), np.array([0.0]), 3)


def test_invalid_inputs() -> None:
    with pytest.raises(ValueError, match="shape"):
        from_component_quantiles(np.zeros((2, 1, 5)))
    with pytest.raises(ValueError, match="NaN"):
        from_component_quantiles(np.full((1, 1, KNOT_LEVELS.size), np.nan))
    with pytest.raises(ValueError, match="levels must be increasing"):
        component_quantiles_from_cumulative(
            np.zeros((1, 2, 2)), np.array([0.9, 0.1]), np.zeros((1, 2)), np.ones((1, 1))
        )

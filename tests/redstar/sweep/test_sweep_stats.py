"""The bootstrap interval against references computed other ways."""

import numpy as np
import pytest
from scipy import stats

from redstar.sweep.stats import bootstrap_ci


@pytest.mark.parametrize("n,k", [(40, 12), (25, 20), (60, 3)])
def test_bootstrap_of_pass_fail_items_matches_the_exact_binomial_quantiles(n, k):
    # Resampling n pass/fail items with replacement draws Binomial(n, k/n) passes, so the
    # percentile interval's exact value is that binomial's 2.5% / 97.5% quantiles over n.
    scores = [1.0] * k + [0.0] * (n - k)
    lo, hi = bootstrap_ci(scores, resamples=40000, seed=1)
    ref_lo = stats.binom.ppf(0.025, n, k / n) / n
    ref_hi = stats.binom.ppf(0.975, n, k / n) / n
    assert abs(lo - ref_lo) <= 1.0 / n + 1e-9
    assert abs(hi - ref_hi) <= 1.0 / n + 1e-9
    assert lo <= k / n <= hi


def test_bootstrap_of_graded_items_matches_scipy_percentile_bootstrap():
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 5, size=50) / 4.0  # items scored 0, 1/4, ... 1 (pass@1 over 4 samples)
    lo, hi = bootstrap_ci(scores, resamples=20000, seed=0)
    ref = stats.bootstrap(
        (scores,), np.mean, n_resamples=20000, method="percentile", confidence_level=0.95, random_state=7
    ).confidence_interval
    assert lo == pytest.approx(ref.low, abs=0.01)
    assert hi == pytest.approx(ref.high, abs=0.01)


def test_bootstrap_edge_cases_and_determinism():
    assert bootstrap_ci([1.0] * 10) == (1.0, 1.0)
    assert bootstrap_ci([0.0] * 10) == (0.0, 0.0)
    assert all(np.isnan(bootstrap_ci([])))
    assert bootstrap_ci([0, 1, 1, 0, 1], seed=5) == bootstrap_ci([0, 1, 1, 0, 1], seed=5)
    # wider with fewer items at the same accuracy
    small = bootstrap_ci([1, 0] * 5, resamples=5000)
    large = bootstrap_ci([1, 0] * 200, resamples=5000)
    assert small[1] - small[0] > large[1] - large[0]

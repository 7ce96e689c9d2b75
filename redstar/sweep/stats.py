"""Bootstrap confidence interval of a benchmark score (the mean of per-item scores).

    lo, hi = bootstrap_ci([1.0, 0.0, 0.5, ...], resamples=1000, seed=0)

Percentile bootstrap over items: draw n items with replacement ``resamples`` times, take the
mean of each draw, and report the 2.5th and 97.5th percentiles of those means. An item's score
is its mean pass@1 over samples, so a benchmark's score is the mean of item scores.
"""

from __future__ import annotations

from collections.abc import Sequence


def bootstrap_ci(
    scores: Sequence[float], resamples: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    import numpy as np

    x = np.asarray(scores, dtype=np.float64)
    if x.size == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    chunk = max(1, 2_000_000 // x.size)  # bounded memory for large benchmarks
    for start in range(0, resamples, chunk):
        k = min(chunk, resamples - start)
        means[start : start + k] = x[rng.integers(0, x.size, size=(k, x.size))].mean(axis=1)
    alpha = (1.0 - level) / 2
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return float(lo), float(hi)

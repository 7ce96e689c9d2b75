"""Sampling metrics, written once: pass@k, mean pass@1, maj@k and rm@k.

    pass_at_k(n=16, c=3, k=8)                     # unbiased estimator for one problem
    mean_pass_at_k(correct, k)                    # correct: one list of bools per problem
    maj_at_k(answers, correct, k, equivalent)     # majority over *equivalent* answers
    rm_at_k(scores, correct, k, seeds=100)        # AceMath: best-scored of k drawn, over seeds

All functions return fractions in [0, 1]; reports multiply by 100.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import comb

import numpy as np


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k (Chen et al. 2021): 1 - C(n-c, k) / C(n, k), the chance that k samples
    drawn without replacement from n (c of them correct) include a correct one.

    Computed as a running product, which stays exact in floating point for large n.
    """
    if not 0 <= c <= n:
        raise ValueError(f"pass_at_k: need 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"pass_at_k: need 1 <= k <= n, got n={n}, k={k}")
    if n - c < k:
        return 1.0
    # C(n-c, k) / C(n, k) = prod_{i=n-c+1}^{n} (1 - k / i)
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def mean_pass_at_k(correct: Sequence[Sequence[bool]], k: int) -> float:
    """pass@k averaged over problems (each problem may have its own n >= k)."""
    if not correct:
        return 0.0
    return float(np.mean([pass_at_k(len(c), int(sum(c)), k) for c in correct]))


def mean_pass1(correct: Sequence[Sequence[bool]]) -> float:
    """Mean pass@1: the fraction of correct samples per problem, averaged over problems
    (greedy decoding with n = 1 makes it plain accuracy)."""
    return mean_pass_at_k(correct, 1)


def answer_key(answer: str) -> str:
    """The string identity majority voting starts from: whitespace runs collapsed."""
    return " ".join(answer.split())


def _tally(answers: Sequence[str | None]) -> tuple[dict[str, int], dict[str, int]]:
    """Per distinct answer (``answer_key``): the index of its first sample and how many samples
    gave it. Missing and blank answers are not counted."""
    first: dict[str, int] = {}
    counts: dict[str, int] = {}
    for i, a in enumerate(answers):
        if a is None or not str(a).strip():
            continue
        k = answer_key(str(a))
        first.setdefault(k, i)
        counts[k] = counts.get(k, 0) + 1
    return first, counts


def majority_vote(answers: Sequence[str | None], equivalent: Callable[[str, str], bool] | None = None) -> int | None:
    """Index of the answer that wins the vote, or None when no answer was extracted.

    Answers are grouped into classes: identical strings (up to whitespace) first, then classes
    whose representatives ``equivalent`` says are the same answer ("1/2" and "0.5"). The largest
    class wins; a tie goes to the class seen first. The index returned is the class's first member.
    """
    first, counts = _tally(answers)
    if not counts:
        return None
    # merge equivalent distinct strings: one comparison per (new string, class representative)
    reps: list[str] = []
    total: dict[str, int] = {}
    for k in sorted(counts, key=first.__getitem__):
        home = next((r for r in reps if equivalent is not None and equivalent(r, k)), None)
        if home is None:
            reps.append(k)
            total[k] = counts[k]
        else:
            total[home] += counts[k]
    best = max(reps, key=lambda r: (total[r], -first[r]))
    return first[best]


def maj_at_k(
    answers: Sequence[Sequence[str | None]],
    correct: Sequence[Sequence[bool]],
    k: int,
    equivalent: Callable[[str, str], bool] | Sequence[Callable[[str, str], bool]] | None = None,
) -> float:
    """maj@k: the majority answer of the first k samples is graded, averaged over problems.
    A problem whose k samples have no extracted answer counts as wrong. ``equivalent`` is one
    function, or one per problem (so a caller can use what it knows about each problem).

    With an equivalence, answers graded correct count as one class (each equals the gold), and
    ``equivalent`` is asked only when the grades leave the vote open."""
    if not answers:
        return 0.0
    per_problem = equivalent if isinstance(equivalent, (list, tuple)) else [equivalent] * len(answers)
    hits = []
    for ans, cor, eq in zip(answers, correct, per_problem, strict=True):
        if len(ans) < k:
            raise ValueError(f"maj@{k} needs {k} samples per problem, a problem has {len(ans)}")
        decided = _vote_decided_by_grades(ans[:k], cor[:k]) if eq is not None else None
        if decided is not None:
            hits.append(decided)
            continue
        win = majority_vote(ans[:k], eq)
        hits.append(bool(win is not None and cor[win]))
    return float(np.mean(hits))


def _vote_decided_by_grades(answers: Sequence[str | None], correct: Sequence[bool]) -> bool | None:
    """Whether the vote is won by a correct answer, when the grades alone decide it; else None.

    Correct answers all equal the gold, so they form one class of size C; wrong answers can only
    merge among themselves. If all wrong answers together cannot beat C, a correct answer wins;
    if one wrong string alone already beats C, a wrong answer wins. Only the cases in between
    need the (slow, symbolic) equivalence checks.
    """
    first, count = _tally(answers)
    right = [key for key in count if correct[first[key]]]
    wrong = [key for key in count if not correct[first[key]]]
    if not right:
        return False
    c, c_first = sum(count[key] for key in right), min(first[key] for key in right)
    if not wrong:
        return True
    w_total, w_first = sum(count[key] for key in wrong), min(first[key] for key in wrong)
    if w_total < c or (w_total == c and c_first < w_first):
        return True
    if any(count[key] > c or (count[key] == c and first[key] < c_first) for key in wrong):
        return False
    return None


def rm_at_k(
    scores: Sequence[Sequence[float]], correct: Sequence[Sequence[bool]], k: int, seeds: int = 100, seed: int = 0
) -> float:
    """rm@k as AceMath defines it: for each seed draw k of the n candidates (without
    replacement), keep the one with the highest reward score and grade it; average over seeds,
    then over problems. Ties in score go to a random one of the tied candidates."""
    if not scores:
        return 0.0
    rng = np.random.default_rng(seed)
    per_problem = []
    for s, c in zip(scores, correct, strict=True):
        s, c = np.asarray(s, dtype=np.float64), np.asarray(c, dtype=bool)
        n = len(s)
        if len(c) != n:
            raise ValueError(f"rm@k: {n} scores but {len(c)} verdicts for a problem")
        if not 1 <= k <= n:
            raise ValueError(f"rm@{k} needs {k} scored samples per problem, a problem has {n}")
        # draws: [seeds, k] indices, each row a random k-subset in random order
        draws = rng.random((seeds, n)).argsort(axis=1)[:, :k]
        picked = draws[np.arange(seeds), s[draws].argmax(axis=1)]  # first max in a random order
        per_problem.append(c[picked].mean())
    return float(np.mean(per_problem))


def rm_at_k_expected(scores: Sequence[Sequence[float]], correct: Sequence[Sequence[bool]], k: int) -> float:
    """The exact expectation rm@k estimates (distinct scores): the candidate ranked r-th from
    the bottom (r = 0 lowest) is the best of a random k-subset with probability
    C(r, k-1) / C(n, k)."""
    out = []
    for s, c in zip(scores, correct, strict=True):
        order = np.argsort(s)
        n = len(s)
        probs = np.array([comb(r, k - 1) for r in range(n)], dtype=np.float64) / comb(n, k)
        out.append(float(np.sum(probs * np.asarray(c, dtype=float)[order])))
    return float(np.mean(out)) if out else 0.0


def report_ks(n: int) -> list[int]:
    """The k values worth reporting for n samples: powers of two below n, and n itself."""
    ks, k = [], 1
    while k < n:
        ks.append(k)
        k *= 2
    return ks + [n] if n > 1 else [1]

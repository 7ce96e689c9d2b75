import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

from redstar.metrics import (
    maj_at_k,
    majority_vote,
    mean_pass1,
    mean_pass_at_k,
    pass_at_k,
    report_ks,
    rm_at_k,
    rm_at_k_expected,
)


def _pass_at_k_by_enumeration(n, c, k):
    """Reference: enumerate every k-subset of n samples (c correct) and count those with a hit."""
    labels = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(range(n), k))
    return Fraction(sum(any(labels[i] for i in s) for s in subsets), len(subsets))


@pytest.mark.parametrize("n,c,k", [(1, 0, 1), (1, 1, 1), (5, 2, 1), (5, 2, 3), (6, 1, 5), (8, 3, 8), (7, 0, 4)])
def test_pass_at_k_matches_enumeration(n, c, k):
    assert pass_at_k(n, c, k) == pytest.approx(float(_pass_at_k_by_enumeration(n, c, k)), abs=1e-12)


def test_pass_at_k_large_n_is_stable():
    # 1 - C(900, 64) / C(1000, 64), computed exactly with integers
    exact = 1 - Fraction(math.comb(900, 64), math.comb(1000, 64))
    assert pass_at_k(1000, 100, 64) == pytest.approx(float(exact), rel=1e-12)


def test_pass_at_k_bad_arguments():
    with pytest.raises(ValueError, match="1 <= k <= n"):
        pass_at_k(4, 1, 5)
    with pytest.raises(ValueError, match="0 <= c <= n"):
        pass_at_k(4, 5, 1)


def test_mean_pass1_is_fraction_of_correct_samples():
    correct = [[True, False, False, True], [False] * 4, [True] * 4]
    assert mean_pass1(correct) == pytest.approx((0.5 + 0 + 1) / 3)
    assert mean_pass_at_k(correct, 4) == pytest.approx(2 / 3)


def test_majority_groups_equivalent_answers():
    eq = lambda a, b: {a, b} <= {"1/2", "0.5", "\\frac{1}{2}"}  # noqa: E731
    answers = ["3", "1/2", "0.5", "3", "\\frac{1}{2}", None]
    # exact strings: '3' has 2 votes; equivalent classes: one half has 3
    assert majority_vote(answers) == 0
    assert majority_vote(answers, eq) == 1
    assert majority_vote([None, " "]) is None
    # a tie goes to the class seen first
    assert majority_vote(["7", "8", "8", "7"]) == 0


def test_maj_at_k_uses_first_k_and_the_winner_verdict():
    eq = lambda a, b: {a, b} <= {"1/2", "0.5"}  # noqa: E731
    answers = [["0.5", "3", "1/2", "3", "3"], ["2", None, None, "5", "5"]]
    correct = [[True, False, True, False, False], [True, False, False, False, False]]
    assert maj_at_k(answers, correct, 3, eq) == pytest.approx(1.0)  # 0.5 ~ 1/2 wins; '2' alone wins
    assert maj_at_k(answers, correct, 5, eq) == pytest.approx(0.0)  # '3' x3 wins; '5' x2 beats '2'
    with pytest.raises(ValueError, match="needs 6 samples"):
        maj_at_k(answers, correct, 6)


def test_rm_at_k_converges_to_exact_expectation():
    rng = np.random.default_rng(1)
    scores = [rng.normal(size=16).tolist() for _ in range(5)]
    correct = [(rng.random(16) < 0.4).tolist() for _ in range(5)]
    exact = rm_at_k_expected(scores, correct, 4)
    assert rm_at_k(scores, correct, 4, seeds=20000) == pytest.approx(exact, abs=0.01)
    # k = n always picks the global best; k = 1 is mean pass@1
    best = np.mean([c[int(np.argmax(s))] for s, c in zip(scores, correct)])
    assert rm_at_k(scores, correct, 16, seeds=10) == pytest.approx(best)
    assert rm_at_k_expected(scores, correct, 1) == pytest.approx(mean_pass1(correct))


def test_rm_at_k_bad_shapes():
    with pytest.raises(ValueError, match="3 scores but 2 verdicts"):
        rm_at_k([[0.1, 0.2, 0.3]], [[True, False]], 2)
    with pytest.raises(ValueError, match="needs 4 scored samples"):
        rm_at_k([[0.1, 0.2, 0.3]], [[True, False, True]], 4)


def test_report_ks():
    assert report_ks(1) == [1]
    assert report_ks(8) == [1, 2, 4, 8]
    assert report_ks(10) == [1, 2, 4, 8, 10]


def test_maj_at_k_grade_shortcut_matches_full_vote():
    """Random votes over answers written in several ways: the shortcut (decide from grades when
    it can) gives what a full vote with a true equivalence relation gives."""
    rng = np.random.default_rng(0)
    spellings = {"0.5": 0, "1/2": 0, "\\frac12": 0, "2": 1, "2.0": 1, "3": 2, "x=3": 2, "7": 3}
    names = list(spellings)
    calls = []

    def eq(a, b):
        calls.append((a, b))
        return spellings[a] == spellings[b]

    for _ in range(300):
        gold = int(rng.integers(0, 4))
        ans = [None if rng.random() < 0.15 else names[rng.integers(0, len(names))] for _ in range(8)]
        cor = [a is not None and spellings[a] == gold for a in ans]
        for k in (2, 5, 8):
            win = majority_vote(ans[:k], eq)
            ref = float(win is not None and cor[win])
            assert maj_at_k([ans], [cor], k, eq) == ref
    # and the shortcut does skip work: fewer equivalence calls than full votes alone made
    n_full = len(calls)
    calls.clear()
    rng = np.random.default_rng(0)
    for _ in range(300):
        gold = int(rng.integers(0, 4))
        ans = [None if rng.random() < 0.15 else names[rng.integers(0, len(names))] for _ in range(8)]
        cor = [a is not None and spellings[a] == gold for a in ans]
        for k in (2, 5, 8):
            maj_at_k([ans], [cor], k, eq)
    assert len(calls) < n_full / 4

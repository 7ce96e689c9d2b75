"""Math grading on literal LaTeX: the known failure modes of math-verify and the Qwen2.5-Math
grader, exact numbers against Fraction arithmetic, structure, equations, time bounds."""

import random
import threading
import time
from fractions import Fraction

import pytest

from redstar.verify import answers_equivalent, grade
from redstar.verify.normalize import normalize, parse_number
from tests.redstar.verify.math_cases import math_cases


@pytest.mark.parametrize("answer,gold,want", math_cases("literal_latex"))
def test_math_cases(answer, gold, want):
    """The literal_latex groups of data/math_cases.json, graded end to end on a boxed response."""
    v = grade(f"Some work first. The final answer is $\\boxed{{{answer}}}$.", gold)
    assert v.correct is want, v
    assert v.reason


def test_exact_numbers_against_fraction_arithmetic():
    """Random rationals written as decimals / fractions: equal exactly when Fraction says so."""
    rng = random.Random(0)
    for _ in range(300):
        a = Fraction(rng.randint(-999, 999), rng.choice([1, 2, 4, 5, 8, 10, 20, 25, 100]))
        b = a + rng.choice([0, 0, Fraction(1, 10000), Fraction(-1, 1000), 1])
        dec = f"{float(b):.6f}".rstrip("0").rstrip(".")
        if Fraction(dec) != b:
            continue
        frac = f"\\frac{{{a.numerator}}}{{{a.denominator}}}" if a.denominator > 1 else str(a.numerator)
        assert grade(f"\\boxed{{{dec}}}", frac).correct is (a == b), (dec, frac)


def test_parse_number_values():
    assert parse_number("7,425,000") == (Fraction(7425000), False)
    assert parse_number("20%") == (Fraction(20), True)
    assert parse_number("-\\frac{3}{4}") == (Fraction(-3, 4), False)
    assert parse_number("1e999") is None  # huge exponents go to the bounded symbolic path
    assert parse_number("x") is None
    assert parse_number("2 1/2") == (Fraction(5, 2), False)
    assert parse_number("1 000.5") == (Fraction(2001, 2), False)
    assert parse_number("2 1") is None and parse_number("1 2 3") is None
    assert parse_number("3 / 4") == (Fraction(3, 4), False)  # spaces next to an operator
    assert normalize("\\left( 1, 2 \\right)") == "( 1, 2 )"


def test_answers_equivalent_is_symmetric():
    assert answers_equivalent("0.5", "\\frac{1}{2}") and answers_equivalent("\\frac{1}{2}", "0.5")
    assert not answers_equivalent("5", "500") and not answers_equivalent("500", "5")
    assert not answers_equivalent("1", None)


def test_huge_power_is_bounded():
    t = time.monotonic()
    v = grade("\\boxed{9^{9^{9^9}}}", "1", timeout=1.0)  # sizes compared from logarithms
    assert v.correct is False and "magnitude" in v.reason
    assert time.monotonic() - t < 0.5
    t = time.monotonic()
    v = grade("\\boxed{9^{9^{9^9}}}", "9^{9^{9^8}}+x", timeout=1.0)  # sympy must give up
    assert time.monotonic() - t < 1.5
    assert v.correct is False and "timeout" in v.reason
    assert grade("\\boxed{2^{10}}", "1024", timeout=3.0).correct  # the helper came back


def test_threads_are_safe_and_bounded():
    cases = [
        ("\\boxed{\\frac{\\sqrt{2}}{2}}", "\\frac{1}{\\sqrt{2}}", True),
        ("\\boxed{500}", "5", False),
        ("\\boxed{x^2-1}", "(x-1)(x+1)", True),
        ("\\boxed{9^{9^{9^9}}}", "2", False),
    ] * 3
    out = [None] * len(cases)

    def work(i):
        hang = "9^" in cases[i][0]
        t0 = time.monotonic()
        v = grade(cases[i][0], cases[i][1], timeout=0.5 if hang else 8.0)
        out[i] = (v, time.monotonic() - t0 < (0.7 if hang else 8.2))

    t = time.monotonic()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(cases))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert time.monotonic() - t < 10
    assert [v.correct for v, _ in out] == [c[2] for c in cases]
    assert all(in_time for _, in_time in out)


@pytest.mark.parametrize(
    "response",
    [
        None,
        17,
        "",
        "\\boxed{",
        "\\boxed{}}}}",
        "{" * 5000 + "\\boxed{1",
        "\\boxed{" + "(" * 3000 + "}",
        "\x00\\boxed{\udcff}",
    ],
)
def test_bad_output_never_raises(response):
    v = grade(response, "1", timeout=2.0)
    assert v.correct is False and isinstance(v.reason, str)


@pytest.mark.parametrize(
    "answer",
    [
        "1" * 50000 + " zz!",
        "1" * 50000 + "cm!",
        "1 < " * 20000,
        "(" * 20000 + "1" + ")" * 20000,
        "1 \\text{ or } " * 5000,
    ],
)
def test_normalisation_is_linear_on_long_answers(answer):
    """A long "answer" must not make the unit / inequality regexes backtrack for minutes."""
    t = time.monotonic()
    normalize(answer)
    assert time.monotonic() - t < 0.5


def test_deeply_nested_parentheses_are_stripped():
    assert grade("\\boxed{" + "(" * 3000 + "7" + ")" * 3000 + "}", "7", timeout=2.0).correct

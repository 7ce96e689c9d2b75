"""Strict TACO-style comparison of outputs and return values (no sandbox needed)."""

import json
import time

import pytest

from redstar.verify.sandbox_compare import DEFAULT_TOL, number_kind, output_matches, token_equal, value_matches


@pytest.mark.parametrize(
    "a,b",
    [
        ("7", "7"),
        ("007", "7"),
        ("-0", "0"),
        ("+5", "5"),
        ("0.3333333", "0.33333333"),
        ("1e3", "1000.0"),
        ("abc", "abc"),
        ("nan", "nan"),
    ],
)
def test_equal_tokens(a, b):
    assert token_equal(a, b) and token_equal(b, a)


@pytest.mark.parametrize(
    "a,b",
    [
        ("1000000001", "1000000000"),
        ("12345678901234567891", "12345678901234567890"),
        ("١٢", "12"),
        ("１２", "12"),
        ("nan", "0.5"),
        ("inf", "1e400"),
        ("1e400", "1e401"),
        ("1_000", "1000"),
        ("0x10", "16"),
        ("0.5", "0.6"),
        ("YES", "yes"),
        ("1.", "2"),
    ],
)
def test_unequal_tokens(a, b):
    assert not token_equal(a, b) and not token_equal(b, a)


@pytest.mark.parametrize(
    "got,want",
    [
        (str(2**100), "1.267651e+30"),  # expected decimal: within the tolerance; 2**100 expected: exact
        ("1000", "1e3"),
        ("2", "2.0"),
    ],
)
def test_integers_are_exact_tolerance_only_for_an_expected_decimal(got, want):
    """The tolerance applies when the expected token is a non-integer decimal; an expected integer
    needs the same integer (2**100 printed as a float is wrong, however close)."""
    assert token_equal(got, want)
    assert not token_equal(want, got)


def test_per_item_tolerance():
    """A problem that allows 1e-9 rejects 0.7500000176 for 0.75, which the default 1e-6 passes."""
    assert output_matches("0.7500000176", "0.75") and DEFAULT_TOL == 1e-6
    assert not output_matches("0.7500000176", "0.75", tol=1e-9)
    assert output_matches("0.7500000001", "0.75", tol=1e-9)
    assert output_matches("1000000.4", "1000000.0", tol=1e-6)  # relative for large values
    assert not output_matches("1000002", "1000000.0", tol=1e-6)


def test_number_kind():
    assert [number_kind(t) for t in ("12", "-3", "+0", "1.5", ".5", "5.", "1e9", "1E-3", "-2.5e+7")] == [
        "int",
        "int",
        "int",
        "dec",
        "dec",
        "dec",
        "dec",
        "dec",
        "dec",
    ]
    for tok in ("", "+", "-", ".", "e5", "1e", "1e+", "1.2.3", "1e5e5", "0x1", "1_0", "١", "1 2", "--1"):
        assert number_kind(tok) is None, tok


@pytest.mark.parametrize(
    "got,want",
    [
        ("1" * 10_000_000 + "x", "1" * 10_000_000 + "y"),  # long digit runs, then a non-digit
        ("1" * 10_000_000 + ".5x", "1.5"),
        ("1" * 5_000_000 + "e" + "1" * 5_000_000 + "e", "2.5"),
        ("9" * 10_000_000, "1." + "0" * 10_000_000),
        ("0." + "1" * 10_000_000, "0." + "1" * 10_000_000 + "2"),
    ],
)
def test_comparison_is_linear_on_10mb_tokens(got, want):
    """One 10 MB token (the number pattern used to backtrack quadratically: a 400 kB token hung
    grading for most of an hour). Measured well under a second; the bound leaves room for load."""
    t = time.perf_counter()
    token_equal(got, want)
    output_matches(got, want)
    assert time.perf_counter() - t < 5.0


def test_outputs_compare_token_lists_and_accept_line_lists():
    assert output_matches("1 2\n3\n", "1 2 3")
    assert output_matches("a\nb\n", ["a", "b"])
    assert not output_matches("1 2", "1 2 3") and not output_matches("", "0")


def test_return_values_are_strict():
    assert value_matches(json.dumps([1, 2]), [1, 2]) and value_matches(json.dumps([1, 2]), [[1, 2]])
    assert value_matches("2.0", 2) and value_matches('{"d": [["a", [1]]]}', {"a": [1]})
    assert not value_matches('{"a": [1]}', {"a": [1]})  # not what the runner sends
    assert not value_matches("true", 1) and not value_matches("1", True)
    assert not value_matches("NaN", float("nan")) and not value_matches('"1"', 1)
    assert not value_matches("[1, 2]", [1, 2, 3]) and not value_matches("not json", "x")
    assert not value_matches("[" * 100000, [])


def test_return_values_compare_like_tacos_eq():
    """Tuples count as lists at the top (and a list of tuples as a list of lists), as TACO
    converts them; expected dict keys that read as integers are integers, so a dict with string
    keys is a different value; sets are sets."""
    assert value_matches('{"t": [1, 2]}', [1, 2]) and value_matches('[{"t": [1, 2]}, {"t": [3]}]', [[[1, 2], [3]]])
    assert not value_matches('[[1, {"t": [2]}]]', [[1, [2]]])  # a deeper tuple is not a list to ==
    assert value_matches('{"d": [[1, 2]]}', {"1": 2}) and not value_matches('{"d": [["1", 2]]}', {"1": 2})
    assert value_matches('{"d": [["a", 2]]}', {"a": 2})  # keys that are not integers stay strings
    assert value_matches('{"s": [1, 2]}', [{"s": [2, 1]}]) is False  # JSON expected values have no sets
    assert value_matches('{"f": "inf"}', float("inf")) and not value_matches('{"f": "nan"}', float("nan"))
    for bad in ('{"x": 1}', '{"t": 1}', '{"d": [[1]]}', '{"d": [[[1], 2]]}', '{"f": "1.5"}'):
        assert not value_matches(bad, 1), bad

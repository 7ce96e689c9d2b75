"""Strict TACO-style comparison of outputs and return values (no sandbox needed)."""

import json

import pytest

from redstar.verify.sandbox_compare import output_matches, token_equal, value_matches


@pytest.mark.parametrize(
    "a,b",
    [
        ("7", "7"),
        ("007", "7"),
        ("-0", "0"),
        ("+5", "5"),
        ("0.3333333", "0.33333333"),
        ("1e3", "1000"),
        ("2.0", "2"),
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


def test_outputs_compare_token_lists_and_accept_line_lists():
    assert output_matches("1 2\n3\n", "1 2 3")
    assert output_matches("a\nb\n", ["a", "b"])
    assert not output_matches("1 2", "1 2 3") and not output_matches("", "0")


def test_return_values_are_strict():
    assert value_matches(json.dumps([1, 2]), [1, 2]) and value_matches(json.dumps([1, 2]), [[1, 2]])
    assert value_matches("2.0", 2) and value_matches('{"a": [1]}', {"a": [1]})
    assert not value_matches("true", 1) and not value_matches("1", True)
    assert not value_matches("NaN", float("nan")) and not value_matches('"1"', 1)
    assert not value_matches("[1, 2]", [1, 2, 3]) and not value_matches("not json", "x")
    assert not value_matches("[" * 100000, [])

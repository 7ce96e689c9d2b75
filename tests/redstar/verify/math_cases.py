"""The answer / gold pairs of the math grader tests, kept as data in data/math_cases.json: groups
of [answer, gold, want] cases, each group named after the rule it pins (and, for the rules taken
over from other graders, its source grader)."""

import json
from pathlib import Path

import pytest

CASES = json.loads((Path(__file__).parent / "data" / "math_cases.json").read_text(encoding="utf-8"))


def math_cases(part: str) -> list:
    """pytest params (answer, gold, want) of every group in ``part`` (literal_latex or
    source_graders), each with the id GROUP-N."""
    return [
        pytest.param(answer, gold, want, id=f"{group['group']}-{i}")
        for group in CASES[part]
        for i, (answer, gold, want) in enumerate(group["cases"])
    ]

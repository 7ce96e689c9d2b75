"""redstar.choices: the one reader and writer of multiple-choice blocks."""

import re
from pathlib import Path

import pytest

from redstar.choices import LETTERS, ChoiceError, format_choices, format_question, index_of, letter, parse_choices

ROOT = Path(__file__).resolve().parents[2]
GEOQA_TEXT = (
    "First perform reasoning, then finally select the question from the choices in the following "
    "format: Answer: xxx.\nQuestion: As shown in the figure, AB ∥ CD, angle 1 = 50°, then angle 2 "
    "is ()\nChoices:\nA:40°\nB:50°\nC:130°\nD:140°"
)


def test_parse_geoqa_text():
    question, choices = parse_choices(GEOQA_TEXT)
    assert question == "As shown in the figure, AB ∥ CD, angle 1 = 50°, then angle 2 is ()"
    assert choices == ["40°", "50°", "130°", "140°"]
    assert parse_choices(GEOQA_TEXT, strict=True) == (question, choices)


def test_round_trip_and_separators():
    text = format_question("Find x.", ["1", "2", "3"])
    assert text == "Find x.\nChoices:\nA:1\nB:2\nC:3"
    assert parse_choices(text) == ("Find x.", ["1", "2", "3"])
    assert format_choices(["1", "2"], sep=": ") == "A: 1\nB: 2"
    assert format_question("Find x.", None) == "Find x."
    # full-width colon, dot, parenthesis and the Chinese list comma all separate letter and text
    assert parse_choices("Q\nChoices：\nA：1\nB. 2\nC) 3\nD、4")[1] == ["1", "2", "3", "4"]


def test_more_than_eight_choices_and_last_block_wins():
    many = [str(i) for i in range(10)]
    assert parse_choices(format_question("Pick.", many))[1] == many  # I and J are letters too
    text = "Choices: see below.\nQuestion: x?\nChoices:\nA:1\nB:2"
    assert parse_choices(text) == ("x?", ["1", "2"])


def test_lenient_and_strict():
    assert parse_choices("Question: find x") == ("find x", None)
    assert parse_choices("Q\nChoices:\nnothing here") == ("Q", None)
    assert parse_choices("Q\nChoices:\nA:1\nC:3\nB:2") == ("Q", ["1", "2"])  # out-of-order line skipped
    with pytest.raises(ChoiceError, match="no 'Choices:' block"):
        parse_choices("Question: find x", strict=True)
    with pytest.raises(ChoiceError, match="C stands where B should"):
        parse_choices("Q\nChoices:\nA:1\nC:3", strict=True)
    with pytest.raises(ChoiceError, match="cannot read choice line"):
        parse_choices("Q\nChoices:\nA:1\nB:2\nsee figure", strict=True)
    with pytest.raises(ChoiceError, match="fewer than two"):
        parse_choices("Q\nChoices:\nA:1", strict=True)


def test_letters():
    assert letter(0) == "A" and letter(25) == "Z" and index_of(" c ") == 2
    with pytest.raises(ChoiceError):
        letter(26)
    with pytest.raises(ChoiceError, match="ABCD"):
        index_of("E", n=4)


def test_letters_defined_once():
    """No package defines its own option alphabet or Choices-line pattern."""
    hits = []
    for pkg in ("redstar", "geo", "data_recipes", "eval"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if re.match(r"\s*LETTERS\s*=", line) or re.match(r"\s*_CHOICE(_LINE)?\s*=", line):
                    hits.append(f"{path.relative_to(ROOT)}:{i}")
    assert [h.split(":")[0] for h in hits] == ["redstar/choices.py"] * 2, hits
    assert len(LETTERS) == 26

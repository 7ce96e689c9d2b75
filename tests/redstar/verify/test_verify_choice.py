"""Multiple-choice answers: letters in every common form, option text matched to its letter."""

import pytest

from redstar.verify import extract_answer, grade

CHOICES = ["30°", "45°", "60°", "90°"]


@pytest.mark.parametrize(
    "response",
    [
        "So the answer is (C).",
        "\\boxed{C}",
        "Answer: C",
        "Answer:C",
        "The correct option is C.",
        "<think>maybe (A)</think>\nAnswer: (C)",
        "Therefore \\boxed{\\text{(C)}}",
        "\\boxed{60^\\circ}",
        "The angle is \\boxed{60°}.",
        "Answer: C. 60°",
        # styles real models write that the extraction once missed: a bare letter or option text as the
        # whole answer, quoted, bold, in prose, after GeoQA's Chinese "故选"
        "C",
        " (C) ",
        "60°",
        'The answer is "C".',
        "The correct option is **C**.",
        "So the answer is **(C) 60°**.",
        "故选：C",
        "故选C.",
        "The angle is 60°, so choose C.",
        "Answer: “C”",
    ],
)
def test_letter_forms_and_option_text(response):
    v = grade(response, "C", kind="choice", choices=CHOICES)
    assert v.correct, v
    assert v.extracted == "C"


@pytest.mark.parametrize(
    "response",
    [
        "So the answer is (B).",
        "\\boxed{45°}",
        "Answer: D",
        "\\boxed{E}",
        "\\boxed{75°}",
        "no idea",
        "<think>so (C)</think> Answer: (A)",
        "D",
        "45°",
        'The answer is "B".',
        "The correct option is **A**.",
        "故选：B",
        "The answer is (A), not (C).",
        "so choose D.",
    ],
)
def test_wrong_or_missing(response):
    assert not grade(response, "C", kind="choice", choices=CHOICES).correct


def test_gold_as_option_text_mathvista_style():
    choices = ["\\frac{1}{2}", "2", "3"]
    assert grade("\\boxed{0.5}", "\\frac{1}{2}", kind="choice", choices=choices).correct
    assert grade("The answer is (A)", "\\frac{1}{2}", kind="choice", choices=choices).correct
    assert not grade("\\boxed{B}", "\\frac{1}{2}", kind="choice", choices=choices).correct


def test_gold_not_an_option_is_explained():
    v = grade("\\boxed{A}", "17", kind="choice", choices=CHOICES)
    assert not v.correct and "neither a letter" in v.reason


def test_extract_answer_choice_kind():
    assert extract_answer("Thus the answer is (B).", kind="choice") == "B"


@pytest.mark.parametrize(
    "response",
    [
        "Therefore the final answer is $\\boxed{\\mathrm{C}}$.",  # Qwen2.5-Math on AQuA / SAT
        "Thus the answer is $\\mathrm{(C)}$.",
        "So the answer is (c).",  # lowercase in parentheses (MMLU-STEM style)
        "The answer is c.",  # a choice item's stated lowercase letter
        "The answer is: **C**",  # bold letter after a colon
        "So the value is 60, which is choice C.",
        "Therefore, the answer is $\\boxed{\\text{(C) } 60°}$.",  # the letter with its option text
        "\\boxed{\\text{(C) 60°}}",
    ],
)
def test_choice_forms_models_write_aqua_sat_mmlu(response):
    choices = ["30°", "45°", "60°", "90°"]
    v = grade(response, "C", kind="choice", choices=choices)
    assert v.correct and v.extracted == "C", (response, v)
    wrong = response.replace("C", "B").replace("(c)", "(b)").replace(" c.", " b.").replace("60°", "45°")
    assert not grade(wrong, "C", kind="choice", choices=choices).correct, wrong


def test_lowercase_letter_outside_a_choice_item_is_a_variable():
    from redstar.choices import letter_of

    assert letter_of("c") is None and letter_of("(c)") == "C" and letter_of("c", lowercase=True) == "C"
    assert letter_of("\\mathrm{E}", 4) is None  # beyond the options


def test_a_negated_option_is_not_the_answer():
    choices = ["30°", "45°", "60°", "90°"]
    assert not grade("The angle is 60°, not choice B.", "B", kind="choice", choices=choices).correct
    assert grade("The angle is 60°, not choice B.", "C", kind="choice", choices=choices).correct

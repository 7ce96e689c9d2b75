"""Rules taken over from the graders people trust, with cases modelled on each grader's own
behaviour: the source_graders groups of data/math_cases.json, each named after its source
grader, and the single cases below. Where a source grader is wrong, a test pins the
disagreement (redstar keeps the right verdict).

Sources: Hendrycks MATH ``is_equiv`` / ``_strip_string``; Minerva ``normalize_final_answer``
(its SUBSTITUTIONS and REMOVED_EXPRESSIONS lists, also used by lighteval's MATH metric);
OpenAI prm800k ``grader.py`` / ``math_normalize.py``; Qwen2.5-Math ``strip_string`` /
``math_equal`` (derived from DeepSeek-Math's evaluator); math-verify.
"""

import pytest

from redstar.verify import grade
from redstar.verify.math_equiv import math_equal
from tests.redstar.verify.math_cases import math_cases


def eq(answer, gold):
    return math_equal(answer, gold)[0]


@pytest.mark.parametrize("answer,gold,want", math_cases("source_graders"))
def test_source_grader_rules(answer, gold, want):
    assert eq(answer, gold) is want


# --- Hendrycks MATH _strip_string ---------------------------------------------------------------
def test_hendrycks_mbox_unit():
    assert eq("40 \\mbox{ minutes}", "40")


# --- math-verify ------------------------------------------------------------------------------
def test_pmatrix_gold_with_row_breaks_followed_by_a_space():
    gold = "\\begin{pmatrix} 1 \\\\ -2 \\end{pmatrix}"
    assert eq("\\begin{pmatrix}1\\\\-2\\end{pmatrix}", gold)
    assert eq("\\begin{pmatrix}2&0\\\\0&3\\end{pmatrix}", "\\begin{pmatrix} 2 & 0 \\\\ 0 & 3 \\end{pmatrix}")
    assert not eq("\\begin{pmatrix}-2\\\\1\\end{pmatrix}", gold)


# --- where a source grader is wrong: pinned disagreements --------------------------------------
@pytest.mark.parametrize("answer,gold", [("5", "500"), ("500", "5"), ("[2,5)", "(2,5)")])
def test_qwen_grader_accepts_these_redstar_does_not(answer, gold, monkeypatch):
    from eval.protocols import qwen_math as q

    monkeypatch.setattr(q, "symbolic_equal", lambda a, b: False)  # accepted before any sympy check
    assert q.math_equal(q.strip_string(answer), q.strip_string(gold))  # the Qwen grader's verdict: accepted
    assert not eq(answer, gold)  # redstar: 5 is not 500, a half-open interval is not an open one


def test_minerva_split_on_equals_is_not_taken_for_non_number_golds():
    # Minerva keeps only the text after the last '=', so 'y = 2x - 3' would equal gold '2x - 3'
    # and 'x = 2' gold 'y = 2'; redstar keeps the equation when the gold is not a plain number
    assert not eq("x = 2", "y = 2")
    assert eq("y = 2x + 3", "y=3+2x")


def test_grade_end_to_end_on_a_long_cot_response():
    r = "<think>\nm/n = 17/187, so maybe \\boxed{187}?\n</think>\nTherefore $\\boxed{m+n = 204}$."
    assert grade(r, "204").correct
    assert not grade(r, "187").correct

"""The shortcuts in eval.scoring (grade each distinct extracted answer once; vote with what the
grades already say) must give exactly what grading every response with verify.grade gives."""

import random

from eval.items import EvalItem
from eval.scoring import _vote_equivalence, grade_responses
from redstar.metrics import maj_at_k
from redstar.verify import answers_equivalent, grade

FORMS = {
    "\\frac{1}{2}": ["\\frac{1}{2}", "0.5", "1/2", "\\frac12", "2", "-\\frac{1}{2}"],
    "3": ["3", "3.0", "x = 3", "-3", "\\text{three}", "33"],
    "(1,2)": ["(1,2)", "(1, 2)", "(2,1)", "[1,2]", "1,2"],
}


def _data(seed=0):
    rng = random.Random(seed)
    items, responses = [], {}
    for i, gold in enumerate(list(FORMS) * 3):
        items.append(EvalItem(id=str(i), question="q", answer=gold))
        responses[str(i)] = [
            rng.choice(
                [
                    f"Reasoning... so $\\boxed{{{rng.choice(FORMS[gold])}}}$.",
                    f"The answer is {rng.choice(FORMS[gold])}.",
                    "I give up.",
                ]
            )
            for _ in range(6)
        ]
    items.append(EvalItem(id="c", question="q", answer="B", kind="choice", choices=["1", "2", "3"]))
    responses["c"] = ["\\boxed{B}", "(B)", "The answer is 2.", "\\boxed{A}"]
    return items, responses


def test_dedup_grading_equals_grading_each_response():
    items, responses = _data()
    got = grade_responses(items, responses, workers=1, progress=False)
    for it in items:
        ref = [grade(r, it.answer, kind=it.kind, choices=it.choices) for r in responses[it.id]]
        assert [(v.correct, v.extracted) for v in got[it.id]] == [(v.correct, v.extracted) for v in ref]


def test_vote_equivalence_matches_plain_verifier():
    items, responses = _data(seed=1)
    items = [it for it in items if it.kind == "math"]
    verdicts = grade_responses(items, responses, workers=1, progress=False)
    answers = [[v.extracted for v in verdicts[it.id]] for it in items]
    correct = [[v.correct for v in verdicts[it.id]] for it in items]
    for k in (2, 4, 6):
        assert maj_at_k(answers, correct, k, _vote_equivalence(answers, correct)) == maj_at_k(
            answers, correct, k, answers_equivalent
        )


def test_eval_scores_previously_missed_conventions():
    """Conventions the shared verifier used to miss: eval gains them through the same grader,
    also through its one-grade-per-distinct-answer shortcut."""
    items = [
        EvalItem(id="aime", question="q", answer="204"),
        EvalItem(id="units", question="q", answer="12"),
        EvalItem(id="prose", question="q", answer="60"),
        EvalItem(id="dup", question="q", answer="18", kind="choice", choices=["6", "12", "18", "18"]),
        EvalItem(id="root", question="q", answer="2√{5}", kind="choice", choices=["√{5}", "2√{5}", "3", "5"]),
    ]
    responses = {
        "aime": ["<think>m/n = 17/187</think>\n$\\boxed{m+n = 204}$", "$\\boxed{m+n = 240}$"],
        "units": ["$\\boxed{12 \\text{ square centimeters}}$", "$\\boxed{12\\text{ cm}^2}$"],
        "prose": ["The value of x is 60.", "The value of x is not 60; it is 30."],
        "dup": ["The answer is C.", "The answer is D."],
        "root": ["\\boxed{2\\sqrt{5}}", "\\boxed{\\sqrt{5}}"],
    }
    got = grade_responses(items, responses, workers=1, progress=False, fallback=False)
    assert {k: [v.correct for v in vs] for k, vs in got.items()} == {
        "aime": [True, False],
        "units": [True, True],
        "prose": [True, False],
        "dup": [True, True],
        "root": [True, False],
    }

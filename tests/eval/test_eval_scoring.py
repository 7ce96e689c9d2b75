"""The shortcuts in eval.scoring (grade each distinct extracted answer once; vote with what the
grades already say) must give exactly what grading every response with verify.grade gives."""

import random

from eval.items import EvalItem
from eval.scoring import _vote_equivalence, grade_responses
from redstar.metrics import maj_at_k
from redstar.verify import answers_equivalent, grade

FORMS = {"\\frac{1}{2}": ["\\frac{1}{2}", "0.5", "1/2", "\\frac12", "2", "-\\frac{1}{2}"],
         "3": ["3", "3.0", "x = 3", "-3", "\\text{three}", "33"],
         "(1,2)": ["(1,2)", "(1, 2)", "(2,1)", "[1,2]", "1,2"]}


def _data(seed=0):
    rng = random.Random(seed)
    items, responses = [], {}
    for i, gold in enumerate(list(FORMS) * 3):
        items.append(EvalItem(id=str(i), question="q", answer=gold))
        responses[str(i)] = [rng.choice(["Reasoning... so $\\boxed{%s}$." % rng.choice(FORMS[gold]),
                                          "The answer is %s." % rng.choice(FORMS[gold]),
                                          "I give up."]) for _ in range(6)]
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
        assert maj_at_k(answers, correct, k, _vote_equivalence(answers, correct)) == \
            maj_at_k(answers, correct, k, answers_equivalent)

"""Answer verification: one pure-function API used by curation filters, RL rewards and eval.

    from redstar.verify import grade, extract_answer, answers_equivalent, grade_batch

    grade(response, "\\frac{1}{2}")                          # Verdict(correct, extracted, reason)
    grade(response, "6", question="Evaluate $\\log_2 64$.")  # an echo of the question scores 0
    grade(response, "C", kind="choice", choices=["30°", "45°", "60°", "90°"])
    grade(response, "", kind="code", tests={"inputs": ["1 2\\n"], "outputs": ["3\\n"]})
    extract_answer(long_cot)                                 # the final answer span or None
    answers_equivalent("0.5", "\\frac12")                    # for majority voting
    grade_batch([{"response": r, "gold": g}, ...], workers=4)

A stated answer is required: the bare last-number fallback is off unless ``fallback=True``
(official protocols that reproduce a published scorer using it). With ``question``, an answer that
only gives back one of the question's expressions (``\\log_2 64`` for "Evaluate $\\log_2 64$") is
no answer (``redstar.verify.question``).

Every call is bounded by ``timeout`` (sympy runs in a killable helper process, code in a
sandbox) and never raises on bad model output: a failure is a Verdict with a reason.
"""

from __future__ import annotations

from redstar.records import Verdict
from redstar.verify.extract import extract_answer
from redstar.verify.grading import KINDS, answers_equivalent, grade

__all__ = ["grade", "extract_answer", "answers_equivalent", "grade_batch", "Verdict", "KINDS"]


def grade_batch(items: list[dict], workers: int = 1, progress: bool = True, timeout: float = 5.0) -> list[Verdict]:
    """Grade many items (keys: response, gold, kind, choices, tests, optional timeout, fallback,
    question) in order."""
    from redstar.verify.batch import grade_batch as _grade_batch

    return _grade_batch(items, workers=workers, progress=progress, timeout=timeout)

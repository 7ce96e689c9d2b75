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

__all__ = ["grade", "extract_answer", "answers_equivalent", "grade_batch", "Verdict", "KINDS"]

KINDS = ("math", "choice", "code")


def grade(
    response: str,
    gold: str,
    kind: str = "math",
    choices: list[str] | None = None,
    tests: dict | None = None,
    *,
    timeout: float = 5.0,
    fallback: bool = False,
    sandbox: str = "bwrap",
    question: str | None = None,
) -> Verdict:
    """Grade one response against its gold answer (math), option (choice) or tests (code)."""
    if not isinstance(response, str):
        return Verdict(False, None, f"response is {type(response).__name__}, not text")
    try:
        if kind == "math":
            from redstar.verify.math_equiv import math_equal

            extracted = extract_answer(response, fallback=fallback)
            if extracted is None:
                return Verdict(False, None, "no answer extracted")
            from redstar.verify.question import restated_expressions

            restated = restated_expressions(question) if isinstance(question, str) else frozenset()
            ok, reason = math_equal(
                extracted, str(gold) if gold is not None else None, timeout=timeout, restated=restated
            )
            return Verdict(ok, extracted, reason)
        if kind == "choice":
            from redstar.verify.choice import grade_choice

            return grade_choice(
                response, "" if gold is None else str(gold), choices, fallback=fallback, timeout=timeout
            )
        if kind == "code":
            from redstar.verify.code_sandbox import grade_code

            return grade_code(response, tests, timeout=timeout, sandbox=sandbox)
        return Verdict(False, None, f"unknown kind {kind!r} (expected one of {', '.join(KINDS)})")
    except Exception as e:  # noqa: BLE001 - a grader bug must not kill a 100k-sample curation run
        if getattr(e, "fail_closed", False):  # the code sandbox cannot run here: stop, never score 0
            raise
        return Verdict(False, None, f"grader error: {type(e).__name__}: {str(e)[:200]}")


def answers_equivalent(a: str, b: str, timeout: float = 2.0) -> bool:
    """Whether two extracted answers are the same answer (majority voting, cross-checks).

    Symmetric: each is tried as the gold of the other, so the percent convention cannot make
    ``20%``~``0.2`` hold in one direction only.
    """
    from redstar.verify.math_equiv import math_equal

    if a is None or b is None:
        return False
    return math_equal(a, b, timeout=timeout)[0] and math_equal(b, a, timeout=timeout)[0]


def grade_batch(items: list[dict], workers: int = 1, progress: bool = True, timeout: float = 5.0) -> list[Verdict]:
    """Grade many items (keys: response, gold, kind, choices, tests, optional timeout, fallback,
    question) in order."""
    from redstar.verify.batch import grade_batch as _grade_batch

    return _grade_batch(items, workers=workers, progress=progress, timeout=timeout)

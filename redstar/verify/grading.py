"""One response against its gold: ``grade`` (math, choice, code) and ``answers_equivalent``.

``redstar.verify`` re-exports both; ``redstar.verify.batch`` grades many items through ``grade``.
"""

from __future__ import annotations

from redstar.records import Verdict
from redstar.verify.extract import extract_answer

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

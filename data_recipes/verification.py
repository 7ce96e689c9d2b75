"""Grading samples with the shared verifier (``redstar.verify``): math answers against gold,
multiple-choice letters, code against its tests.

    verdicts = grade_samples(samples, problems_by_id, recipe)   # [{"correct", "extracted", "reason"}]

The kind follows the problem: ``code`` for code problems, ``choice`` when it has choices, else
``math``. A problem with no gold answer (cross-check pools) gets ``correct: None`` with reason
"no gold", which the cross-check stage later resolves.

Math grading is a function of the extracted answer and the gold answer alone (``grade`` extracts,
then compares), and a prompt's samples mostly agree, so each distinct (gold, extracted) pair is
graded once and its verdict shared: equivalence checks that need sympy cost tens of
milliseconds, and this cuts them by the number of samples per prompt.

The problem text reaches the grader as the question: a sample whose answer only restates the
problem's expression ("the final answer is $\\log_2 64$") is not kept as correct; the verifier's
last-number fallback is off, so a sample must state its answer.

Code runs in the verifier's sandbox named by the recipe's ``verify.sandbox`` (default bwrap;
``none`` runs without isolation); each code verdict records it under ``sandbox``, and grading
stops with what to install when the sandbox cannot be set up.
"""

from __future__ import annotations


def kind_of(problem: dict) -> str:
    if problem.get("domain") == "code":
        return "code"
    return "choice" if problem.get("choices") else "math"


def grade_samples(samples: list[dict], problems: dict[str, dict], recipe) -> list[dict]:
    from redstar.verify import extract_answer, grade_batch

    sandbox = getattr(recipe.verify, "sandbox", None) or "bwrap"
    if any(kind_of(problems[s["problem_id"]]) == "code" for s in samples):
        from redstar.verify.code_sandbox import check_sandbox

        sandbox = check_sandbox(sandbox)  # fail closed: raises SandboxUnavailable, saying what to install
    items, where = [], []  # where[j]: the sample indices item j's verdict goes to
    shared: dict[tuple, int] = {}  # (gold, extracted) -> item index, math only
    out: list[dict | None] = [None] * len(samples)
    for i, s in enumerate(samples):
        p = problems[s["problem_id"]]
        kind = kind_of(p)
        if kind != "code" and not p.get("answer"):
            extracted = extract_answer(s["response"], kind=kind)
            out[i] = {"correct": None, "extracted": extracted, "reason": "no gold"}
            continue
        question = p.get("question") or p.get("problem")
        question = question if isinstance(question, str) else None
        if kind == "math":
            key = (p["answer"], extract_answer(s["response"], kind="math"), question)
            if key in shared:
                where[shared[key]].append(i)
                continue
            shared[key] = len(items)
        items.append(
            {
                "response": s["response"],
                "gold": p.get("answer") or "",
                "kind": kind,
                "choices": p.get("choices"),
                "tests": p.get("tests"),
                "timeout": recipe.verify.timeout,
                "sandbox": sandbox,
                "question": question if kind == "math" else None,
            }
        )
        where.append([i])
    if items:
        verdicts = grade_batch(items, workers=recipe.verify.workers, progress=False)
        for idx, v, item in zip(where, verdicts, items):
            for i in idx:
                out[i] = {"correct": bool(v.correct), "extracted": v.extracted, "reason": v.reason}
                if item["kind"] == "code":
                    out[i]["sandbox"] = sandbox
    return out  # type: ignore[return-value]

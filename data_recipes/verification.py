"""Grading samples with the shared verifier (``redstar.verify``): math answers against gold,
multiple-choice letters, code against its tests.

    verdicts = grade_samples(samples, problems_by_id, recipe)   # [{"correct", "extracted", "reason"}]

The kind follows the problem: ``code`` for code problems, ``choice`` when it has choices, else
``math``. A problem with no gold answer (cross-check pools) gets ``correct: None`` with reason
"no gold", which the cross-check stage later resolves.
"""

from __future__ import annotations


def kind_of(problem: dict) -> str:
    if problem.get("domain") == "code":
        return "code"
    return "choice" if problem.get("choices") else "math"


def grade_samples(samples: list[dict], problems: dict[str, dict], recipe) -> list[dict]:
    from redstar.verify import extract_answer, grade_batch

    items, where = [], []
    out: list[dict | None] = [None] * len(samples)
    for i, s in enumerate(samples):
        p = problems[s["problem_id"]]
        kind = kind_of(p)
        if kind != "code" and not p.get("answer"):
            extracted = extract_answer(s["response"], kind=kind)
            out[i] = {"correct": None, "extracted": extracted, "reason": "no gold"}
            continue
        items.append({"response": s["response"], "gold": p.get("answer") or "", "kind": kind,
                      "choices": p.get("choices"), "tests": p.get("tests"),
                      "timeout": recipe.verify.timeout})
        where.append(i)
    if items:
        verdicts = grade_batch(items, workers=recipe.verify.workers, progress=False)
        for i, v in zip(where, verdicts):
            out[i] = {"correct": bool(v.correct), "extracted": v.extracted, "reason": v.reason}
    return out  # type: ignore[return-value]

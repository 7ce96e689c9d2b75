"""AceMath's cross-check: keep a prompt's answer only when two samples of teacher A agree and
teacher B matches them.

    result = crosscheck(samples_of_problem, cfg)
    # {"status": "agree" | "a_disagree" | "b_mismatch", "answer": consensus or None}

Answers are compared with the shared verifier's ``answers_equivalent`` (so ``0.5`` and
``\\frac{1}{2}`` agree), never as strings. Used for synthetic prompts without a gold answer the
consensus becomes the label; with a gold answer it is an extra agreement filter.
"""

from __future__ import annotations


def _clusters(answers: list[str], equivalent) -> list[list[int]]:
    """Greedy grouping of equivalent answers; each cluster lists indices into ``answers``."""
    clusters: list[list[int]] = []
    for i, a in enumerate(answers):
        for c in clusters:
            if equivalent(answers[c[0]], a):
                c.append(i)
                break
        else:
            clusters.append([i])
    return clusters


def crosscheck(samples: list[dict], cfg, equivalent=None) -> dict:
    if equivalent is None:
        from redstar.verify import answers_equivalent as equivalent
    extracted = lambda s: (s.get("verdict") or {}).get("extracted")  # noqa: E731
    a = [extracted(s) for s in samples if s.get("teacher") == cfg.teacher_a and extracted(s)]
    b = [extracted(s) for s in samples if s.get("teacher") == cfg.teacher_b and extracted(s)]
    clusters = sorted(_clusters(a, equivalent), key=len, reverse=True)
    if not clusters or len(clusters[0]) < cfg.min_agree:
        return {"status": "a_disagree", "answer": None}
    consensus = a[clusters[0][0]]
    if not any(equivalent(consensus, x) for x in b):
        return {"status": "b_mismatch", "answer": consensus}
    return {"status": "agree", "answer": consensus}


def apply_crosscheck(problem: dict, samples: list[dict], cfg, equivalent=None) -> str | None:
    """Run the check on one problem's samples; label samples of gold-less problems by the
    consensus. Returns a drop reason for the whole problem, or None."""
    if cfg.only_without_gold and problem.get("answer"):
        return None
    if equivalent is None:
        from redstar.verify import answers_equivalent as equivalent
    result = crosscheck(samples, cfg, equivalent)
    problem["meta"]["crosscheck"] = result
    if result["status"] != "agree":
        return f"crosscheck: {result['status']}"
    if not problem.get("answer"):
        for s in samples:
            v = s.get("verdict") or {}
            ok = bool(v.get("extracted")) and equivalent(result["answer"], v["extracted"])
            s["verdict"] = {"correct": ok, "extracted": v.get("extracted"), "reason": "crosscheck consensus"}
    return None

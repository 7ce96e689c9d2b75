"""rm@k report: how well a reward model picks the right answer out of k candidates.

    report = rmk_report(rows, key="rm", ks=[1, 2, 4, 8], seeds=100)
    write_report(report, "runs/rmk")      # rmk.json, rmk.md (table), rmk.png (accuracy vs k)

For each k, three numbers side by side (the AceMath paper's table, arXiv 2412.15084):
- rm@k: draw k of a problem's n candidates, keep the highest-reward one, grade it; averaged over
  ``seeds`` draws, then over problems (``redstar.metrics.rm_at_k``);
- maj@k: the majority answer (by ``verdict.extracted``, equal answers merged by the same
  equivalence ``redstar eval`` uses) of k candidates, graded; drawn the same way (each seed
  permutes the candidates and votes over the first k), so both columns see random k-subsets
  rather than one fixed prefix;
- pass@k: the oracle, whether any of the k is correct (unbiased estimator).
A reward model is worth having where rm@k beats maj@k; pass@k is the ceiling.

Input: scored Sample rows (``redstar rm score`` output or ``redstar eval`` samples) with
``verdict.correct``, ``verdict.extracted`` and ``scores[key]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from redstar.records import RowError


def memo_equivalent(fn):
    """``fn(a, b)`` memoised on the unordered pair: maj@k over many seeds asks the same few
    questions again and again, and a symbolic check costs milliseconds."""
    cache: dict[frozenset, bool] = {}

    def eq(a: str, b: str) -> bool:
        key = frozenset((a, b))
        if key not in cache:
            cache[key] = bool(fn(a, b))
        return cache[key]

    return eq


def math_equivalent():
    """The answer equivalence ``redstar eval`` votes with (redstar.verify), memoised."""
    from redstar.verify import answers_equivalent

    return memo_equivalent(answers_equivalent)


def candidates_by_problem(rows: Iterable, key: str = "rm") -> dict[str, dict]:
    """problem id -> {"scores", "correct", "answers"}: one entry per candidate, in row order.

    ``rows``: Sample dicts, or (where, row) pairs from ``redstar.dataio.iter_located`` so that
    an ungraded or unscored row is reported as file:line."""
    out: dict[str, dict] = {}
    for i, item in enumerate(rows):
        where, row = item if isinstance(item, tuple) else (f"row {i + 1}", item)
        pid = str(row.get("problem_id"))
        verdict = row.get("verdict")
        if not isinstance(verdict, dict) or verdict.get("correct") is None:
            raise RowError(f"problem {pid!r} has no verdict.correct: grade the samples first", where)
        score = (row.get("scores") or {}).get(key)
        if isinstance(score, bool) or not isinstance(score, (int, float)):
            raise RowError(f"problem {pid!r} has no numeric scores[{key!r}]: run 'redstar rm score' first", where)
        entry = out.setdefault(pid, {"scores": [], "correct": [], "answers": []})
        entry["scores"].append(float(score))
        entry["correct"].append(bool(verdict["correct"]))
        entry["answers"].append(verdict.get("extracted"))
    return out


def sampled_maj_at_k(
    answers: list[list], correct: list[list[bool]], k: int, seeds: int = 100, seed: int = 0, equivalent=None
) -> float:
    """maj@k over random k-subsets: ``metrics.maj_at_k`` on ``seeds`` random permutations."""
    from redstar.metrics import maj_at_k

    rng = np.random.default_rng(seed)
    total = 0.0
    for _ in range(seeds):
        perm_a, perm_c = [], []
        for a, c in zip(answers, correct):
            p = rng.permutation(len(a))
            perm_a.append([a[j] for j in p])
            perm_c.append([c[j] for j in p])
        total += maj_at_k(perm_a, perm_c, k, equivalent)
    return total / seeds


def rmk_report(
    rows, key: str = "rm", ks: list[int] | None = None, seeds: int = 100, seed: int = 0, equivalent=None
) -> dict:
    """The rm@k / maj@k / pass@k table as a dict (fractions in [0, 1]). ``rows``: Sample
    rows, (where, row) pairs, or a path (file or directory) read with ``redstar.dataio.iter_located``."""
    from redstar.metrics import mean_pass_at_k, report_ks, rm_at_k

    if isinstance(rows, (str, Path)):
        from redstar.dataio import iter_located
        from redstar.records import Sample

        rows = iter_located(rows, schema=Sample)
    probs = candidates_by_problem(rows, key)
    if not probs:
        raise RowError("no scored samples to report on")
    n_min = min(len(p["scores"]) for p in probs.values())
    ks = sorted(set(ks or report_ks(n_min)))
    if ks[-1] > n_min:
        short = next(pid for pid, p in probs.items() if len(p["scores"]) < ks[-1])
        raise RowError(
            f"k={ks[-1]} needs {ks[-1]} candidates per problem; problem {short!r} has "
            f"{len(probs[short]['scores'])} (largest usable k: {n_min})"
        )
    scores = [p["scores"] for p in probs.values()]
    correct = [p["correct"] for p in probs.values()]
    answers = [p["answers"] for p in probs.values()]
    table = [
        {
            "k": k,
            "rm": rm_at_k(scores, correct, k, seeds=seeds, seed=seed),
            "maj": sampled_maj_at_k(answers, correct, k, seeds=seeds, seed=seed, equivalent=equivalent),
            "pass": mean_pass_at_k(correct, k),
        }
        for k in ks
    ]
    return {
        "key": key,
        "problems": len(probs),
        "candidates_min": n_min,
        "candidates_max": max(len(s) for s in scores),
        "seeds": seeds,
        "table": table,
    }


def markdown(report: dict, title: str = "rm@k") -> str:
    lines = [
        f"# {title}",
        "",
        (
            f"{report['problems']} problems, {report['candidates_min']}-{report['candidates_max']} candidates "
            f"each, reward key `{report['key']}`, {report['seeds']} seeds. Percent."
        ),
        "",
        "| k | rm@k | maj@k | pass@k (oracle) |",
        "|---:|---:|---:|---:|",
    ]
    for r in report["table"]:
        lines.append(f"| {r['k']} | {100 * r['rm']:.2f} | {100 * r['maj']:.2f} | {100 * r['pass']:.2f} |")
    return "\n".join(lines) + "\n"


def plot(report: dict, path: str | Path, title: str = "rm@k") -> None:
    """Accuracy vs k (log2 axis): rm@k, maj@k and the pass@k oracle; written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from redstar.dataio import atomic_open

    ks = [r["k"] for r in report["table"]]
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for col, label, style in (("pass", "pass@k (oracle)", ":"), ("rm", "rm@k", "-"), ("maj", "maj@k", "--")):
        ax.plot(ks, [100 * r[col] for r in report["table"]], style, marker="o", label=label)
    if len(ks) > 1:
        ax.set_xscale("log", base=2)
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_xlabel("k (candidates per problem)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"{title}: {report['problems']} problems")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_open(path, "wb") as f:
        fig.savefig(f, format="png", dpi=120)
    plt.close(fig)


def write_report(report: dict, out_dir: str | Path, title: str = "rm@k") -> Path:
    from redstar.dataio import atomic_write_text, write_json

    out = Path(out_dir)
    write_json(out / "rmk.json", report)
    atomic_write_text(out / "rmk.md", markdown(report, title))
    plot(report, out / "rmk.png", title)
    return out

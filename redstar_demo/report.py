"""The demo's report: OUT/report.md with the funnel, loss curves, the before/after table and
plot, every step's command and what each step took (from this run, or from the run that did
the work when this one skipped it). The table's rows are also written to OUT/before_after.json
(BEFORE_AFTER_FILE) for scripts and tests."""

from __future__ import annotations

import json
import os
from pathlib import Path

BEFORE_AFTER_FILE = "before_after.json"
# The before/after table's rows in order; a row shows only when its eval steps are planned.
BENCHMARKS = ("math-hard", "aime24", "synthetic-easy", "synthetic-hard", "geoqa", "mathvista-geo")


def _metrics(path: Path) -> dict | None:
    f = path / "metrics.json"
    return json.loads(f.read_text()) if f.exists() else None


def _plot_before_after(table: list[tuple[str, float | None, float | None]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [t[0] for t in table]
    x = range(len(names))
    fig, ax = plt.subplots(figsize=(max(7.0, 1.4 * len(names)), 3.5))
    ax.bar([i - 0.2 for i in x], [100 * (t[1] or 0) for t in table], width=0.4, label="base")
    ax.bar([i + 0.2 for i in x], [100 * (t[2] or 0) for t in table], width=0.4, label="trained")
    ax.set_xticks(list(x), names)
    ax.set_ylabel("accuracy (%)")
    ax.set_title("demo: base vs trained")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _item_scores(run: Path) -> dict[str, float]:
    """Per-item mean pass@1 of an eval run, by item id (empty without results.jsonl)."""
    f = run / "results.jsonl"
    if not f.is_file():
        return {}
    out = {}
    for line in f.read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            out[str(r["id"])] = sum(bool(c) for c in r["correct"]) / len(r["correct"]) if r["correct"] else 0.0
    return out


def gain_interval(base_run: Path, trained_run: Path, resamples: int = 2000) -> tuple[float, float, float] | None:
    """(trained - base, 95% interval): a paired percentile bootstrap over the items both runs
    scored; None when either run has no per-item results."""
    from redstar.sweep.stats import bootstrap_ci

    base, trained = _item_scores(base_run), _item_scores(trained_run)
    ids = sorted(set(base) & set(trained))
    if not ids:
        return None
    diffs = [trained[i] - base[i] for i in ids]
    lo, hi = bootstrap_ci(diffs, resamples=resamples, seed=0)
    return sum(diffs) / len(diffs), lo, hi


def _gain_text(g: tuple[float, float, float] | None) -> str:
    if g is None:
        return "-"
    d, lo, hi = g
    mark = " (excludes 0)" if lo > 0 or hi < 0 else ""
    return f"{100 * d:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]{mark}"


def _row_json(bench: str, base, trained, n, gain) -> dict:
    """One before/after row as data: accuracies and the gain as fractions, the interval's ends
    and whether it excludes 0 (None where a run or its per-item results are missing)."""
    d, lo, hi = gain if gain else (None, None, None)
    return {
        "benchmark": bench,
        "n_items": n,
        "base": base,
        "trained": trained,
        "gain": d,
        "ci_low": lo,
        "ci_high": hi,
        "excludes_zero": None if gain is None else bool(lo > 0 or hi < 0),
    }


def _pct_or_dash(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def write_report(
    out: Path, steps: list, where: dict, seconds: dict[str, float | None], earlier: dict[str, float] | None = None
) -> Path:
    """OUT/report.md. ``seconds`` holds each step's time in this run (None: skipped) and
    ``total``; ``earlier`` what a skipped step took in the run that did its work."""
    from redstar.dataio import atomic_write_text, write_json

    def rel(p: Path) -> str:  # links in the report are relative to it
        return os.path.relpath(p, out)

    lines = [
        "# redstar demo",
        "",
        "Everything below ran on CPU with SmolLM2-135M-Instruct (the embedded default model) for the "
        "text legs, a tiny random Qwen2-VL built from config for the geometry leg (the default model "
        "has no vision) and a tiny Qwen2 (a few hundred thousand parameters) trained from scratch for the synthetic "
        "digit-chain world (data_recipes/synthetic). The SmolLM2 and geometry numbers show the pipeline "
        "working end to end, not a strong model. The synthetic rows show learning in a toy world: base "
        "is the random start, trained the model after SFT on the world's curated rows, scored on "
        "held-out easy (1-3 steps) and hard (6-8 steps) chains; chance is about 10% once a model "
        "answers in the right format. They say nothing about how real models scale.",
        "",
    ]
    funnel = where["curate"] / "funnel.json"
    if funnel.exists():
        lines += [
            "## Curation funnel",
            "",
            f"Full report: [{rel(where['curate'] / 'report.md')}]({rel(where['curate'] / 'report.md')})",
            "",
        ]
        data = json.loads(funnel.read_text())
        stages = data.get("funnel") or {}
        if stages:
            lines += ["| stage | unit | in | out | dropped (why) |", "|---|---|---:|---:|---|"]
            for name, st in stages.items():
                why = ", ".join(f"{k}: {v}" for k, v in (st.get("dropped") or {}).items()) or "-"
                lines.append(f"| {name} | {st.get('unit', '')} | {st.get('in', '')} | {st.get('out', '')} | {why} |")
            lines.append("")
        counts = data.get("counts") or {}
        if counts:
            lines += ["Exported: " + ", ".join(f"{k} {v}" for k, v in counts.items()), ""]
        if (where["curate"] / "funnel.png").exists():
            lines += [f"![funnel]({rel(where['curate'] / 'funnel.png')})", ""]
    planned = {s.name for s in steps}  # results of steps outside this plan are not shown
    lines += ["## Training", ""]
    for name in ("sft", "dpo", "synthetic_sft", "geo_sft"):
        d = where.get(name)
        if d is not None and name.replace("_", " ") in planned and (d / "loss.png").exists():
            lines += [
                f"### {name}",
                "",
                f"Model: `{rel(d / 'final')}`",
                "",
                f"![{name} loss]({rel(d / 'loss.png')})",
                "",
            ]
    table = []
    for bench in BENCHMARKS:
        if f"eval base {bench}" not in planned:
            continue
        b_run, t_run = where["eval"] / "base" / bench, where["eval"] / "trained" / bench
        base, trained = _metrics(b_run), _metrics(t_run)
        if base or trained:
            table.append(
                (
                    bench,
                    base and base.get("accuracy"),
                    trained and trained.get("accuracy"),
                    (base or trained).get("n_items"),
                    gain_interval(b_run, t_run) if base and trained else None,
                )
            )
    if table:
        lines += [
            "## Before / after",
            "",
            "Gain: trained minus base in points, with a 95% paired percentile-bootstrap interval over items.",
            "",
            "| benchmark (demo set) | items | base | trained | gain [95% CI] |",
            "|---|---:|---:|---:|---:|",
        ]
        for bench, b, t, n, g in table:
            lines.append(f"| {bench} | {n} | {_pct_or_dash(b)} | {_pct_or_dash(t)} | {_gain_text(g)} |")
        _plot_before_after([t[:3] for t in table], out / "before_after.png")
        lines += ["", "![before/after](before_after.png)", ""]
    write_json(out / BEFORE_AFTER_FILE, {"rows": [_row_json(*row) for row in table]})
    lines += ["## Commands (each step alone)", "", "```bash"]
    lines += [s.command() for s in steps]
    lines += ["```", "", "## Time", ""]
    earlier = earlier or {}
    for name, sec in seconds.items():
        if name == "total":
            continue
        if sec is not None:
            lines.append(f"- {name}: {sec:.0f} s")
        elif name in earlier:
            lines.append(
                f"- {name}: {earlier[name]:.0f} s (finished by an earlier run with the same command and inputs; skipped now)"
            )
        else:
            lines.append(f"- {name}: finished by an earlier run with the same command and inputs")
    work = sum(sec if sec is not None else earlier.get(name, 0.0) for name, sec in seconds.items() if name != "total")
    lines.append(f"- total: the steps' work {work:.0f} s; this run {seconds.get('total', 0.0):.0f} s")
    path = out / "report.md"
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path

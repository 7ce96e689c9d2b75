"""Gather the sweep's results: one sweep.jsonl row per (checkpoint, benchmark), and what each
training cell cost (tokens seen, time).

A row's value is the eval run's own ``metrics.json`` number; its interval is a bootstrap over
the per-item scores in that run's ``results.jsonl``.
"""

from __future__ import annotations

import json
from pathlib import Path

from redstar.sweep.plan import Cell, EvalRun, Plan
from redstar.sweep.state import unit_status
from redstar.sweep.stats import bootstrap_ci


def item_scores(results: Path) -> list[float]:
    """Per-item mean pass@1 from an eval run's results.jsonl."""
    out = []
    with open(results, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                correct = json.loads(line)["correct"]
                out.append(sum(bool(c) for c in correct) / len(correct) if correct else 0.0)
    return out


def eval_row(run: EvalRun, cell: Cell | None, metric: str, resamples: int, seed: int) -> dict | None:
    d = Path(run.out)
    if not (d / "metrics.json").is_file():
        return None
    m = json.loads((d / "metrics.json").read_text())
    row = {
        "cell": run.cell,
        "checkpoint": run.checkpoint,
        "model": run.model,
        "kind": cell.kind if cell else "base",
        "size": cell.size if cell else 0,
        "seed": cell.seed if cell else None,
        "stage": run.stage,
        "benchmark": run.benchmark,
        "metric": metric,
        "value": m[metric],
        "n_items": m["n_items"],
        "n_samples": m.get("n_samples", 1),
        "ci_low": None,
        "ci_high": None,
        "ci_method": f"percentile bootstrap over items, {resamples} resamples",
        "eval_dir": str(d),
        "command": run.command(),
    }
    if (d / "results.jsonl").is_file():
        lo, hi = bootstrap_ci(item_scores(d / "results.jsonl"), resamples=resamples, seed=seed)
        row["ci_low"], row["ci_high"] = lo, hi
    return row


def _run_summary(stage_dir: Path) -> list[dict]:
    """The finished run's own totals from its run.json (one entry per SFT stage; a DPO run's
    summary is one entry), or [] for a run that has not finished or predates them."""
    from redstar.rundir import read_record

    try:
        rec = read_record(stage_dir) or {}
    except (OSError, ValueError):
        return []
    if rec.get("status") != "complete":
        return []
    summary = rec.get("summary") or {}
    stages = summary.get("stages", [summary])
    return [s for s in stages if isinstance(s, dict)]


def training_log(stage_dir: Path) -> dict:
    """Optimizer steps, tokens seen and training-loop seconds of a whole run, and its last
    logged loss.

    The totals come from the finished run's summary in run.json (the trainer's own counts over
    every step); metrics.jsonl holds only every ``log_every``-th step, so summing its rows
    would count a fraction of the run. A run without them (not finished, or written before
    the summary carried them) reports the steps it logged and no tokens or seconds (None)."""
    f = stage_dir / "metrics.jsonl"
    steps: dict[int, dict] = {}
    if f.is_file():
        for line in f.read_text().splitlines():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a kill
            if isinstance(r, dict) and "step" in r:
                steps[int(r["step"])] = r
    last = steps[max(steps)] if steps else {}
    summary = _run_summary(stage_dir)
    if summary and all(s.get("tokens") is not None and s.get("loop_seconds") is not None for s in summary):
        return {
            "steps": sum(int(s.get("step") or 0) for s in summary),
            "tokens_seen": sum(int(s["tokens"]) for s in summary),
            "train_seconds": round(sum(float(s["loop_seconds"]) for s in summary), 2),
            "final_loss": summary[-1].get("final_loss", last.get("loss")),
        }
    return {
        "steps": max(steps) if steps else 0,
        "tokens_seen": None,
        "train_seconds": None,
        "final_loss": last.get("loss"),
    }


def cell_rows(plan: Plan, out: Path, stages: list[str]) -> list[dict]:
    rows = []
    for c in plan.cells:
        st = unit_status(out, f"cells/{c.id}")
        manifest = Path(c.data).with_suffix(".manifest.json")
        man = json.loads(manifest.read_text()) if manifest.is_file() else {}
        row = {
            "cell": c.id,
            "model": c.model,
            "kind": c.kind,
            "size": c.size,
            "seed": c.seed,
            "status": st.get("status")
            or (
                "done" if all(Path(c.final(s), "config.json").is_file() for s in stages) else "not run"
            ),  # a Slurm task records no status
            "wall_seconds": st.get("wall_seconds"),
            "data_rows": man.get("rows"),
            "data_prompts": man.get("prompts"),
            "data_tokens": man.get("tokens"),
            "commands": [c.command(s) for s in stages],
        }
        for s in stages:
            row[s] = training_log(Path(c.dir) / s)
        seen = [row[s]["tokens_seen"] for s in stages]
        row["tokens_seen"] = None if None in seen else sum(seen)
        rows.append(row)
    return rows


def collect(plan: Plan, metric: str, resamples: int, seed: int = 0) -> list[dict]:
    cells = {c.id: c for c in plan.cells}
    rows = []
    for run in plan.evals:
        r = eval_row(run, cells.get(run.cell) if run.cell else None, metric, resamples, seed)
        if r is not None:
            rows.append(r)
    return rows

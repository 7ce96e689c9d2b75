"""sweep.jsonl and report.md from real `redstar eval` outputs: every number in the table is the
eval run's own metrics.json value, intervals come from that run's results.jsonl."""

import json
import random
from pathlib import Path

import pytest

from eval.items import last_boxed
from redstar.cli import main
from redstar.config import from_dict
from redstar.sweep.collect import cell_rows, collect, item_scores
from redstar.sweep.config import SweepConfig
from redstar.sweep.plan import build_plan
from redstar.sweep.report import write_report
from redstar.sweep.stats import bootstrap_ci

ROOT = Path(__file__).resolve().parents[3]
AIME = ROOT / "data_recipes" / "demo_data" / "aime24.jsonl"
MATH = ROOT / "data_recipes" / "demo_data" / "math_hard.jsonl"


def _cfg() -> SweepConfig:
    return from_dict(
        SweepConfig,
        {
            "name": "t",
            "source": "unused.jsonl",
            "models": [{"name": "a", "path": "A"}, {"name": "b", "path": "B"}],
            "sizes": [2, 4],
            "subsets": ["hardest"],
            "stages": ["sft"],
            "sft": {"config": "sft.yaml"},
            "eval": {
                "benchmarks": [{"name": "aime24", "data": str(AIME)}, {"name": "math-hard", "data": str(MATH)}],
                "bootstrap": 500,
            },
        },
    )


def _gold(path: Path) -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    if "answer" in rows[0]:
        return [(str(r["id"]), r["answer"]) for r in rows]
    return [(str(i), last_boxed(r["solution"])) for i, r in enumerate(rows)]


def _fake_eval(run, rng: random.Random, tmp_path: Path) -> None:
    """Score stored responses for this checkpoint, a random share of them right."""
    data = AIME if run.benchmark == "aime24" else MATH
    p = rng.uniform(0.1, 0.9)
    rows = [
        {
            "id": int(i) if run.benchmark == "aime24" else i,
            "responses": [f"\\boxed{{{gold if rng.random() < p else '999999'}}}" for _ in range(2)],
        }
        for i, gold in _gold(data)
    ]
    resp = tmp_path / "responses" / (run.id.replace("/", "__") + ".jsonl")
    resp.parent.mkdir(parents=True, exist_ok=True)
    resp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert (
        main(
            [
                "eval",
                "--benchmark",
                run.benchmark,
                "--data",
                str(data),
                "--responses",
                str(resp),
                "--samples",
                "2",
                "--out",
                run.out,
                "--workers",
                "1",
            ]
        )
        == 0
    )


def test_table_numbers_are_the_eval_outputs_and_intervals_their_bootstrap(tmp_path):
    cfg = _cfg()
    plan = build_plan(cfg, tmp_path / "sweep")
    assert len(plan.cells) == 2 * 2 * 2 and len(plan.evals) == (2 + 8) * 2
    rng = random.Random(0)
    for run in plan.evals:
        _fake_eval(run, rng, tmp_path)
    rows = collect(plan, "accuracy", resamples=500, seed=0)
    assert len(rows) == len(plan.evals)
    for r in rows:
        m = json.loads((Path(r["eval_dir"]) / "metrics.json").read_text())
        assert r["value"] == m["accuracy"] and r["n_items"] == m["n_items"] and r["metric"] == "accuracy"
        scores = item_scores(Path(r["eval_dir"]) / "results.jsonl")
        assert sum(scores) / len(scores) == pytest.approx(m["accuracy"])
        assert (r["ci_low"], r["ci_high"]) == bootstrap_ci(scores, resamples=500, seed=0)
        assert r["ci_low"] <= r["value"] <= r["ci_high"]
    out = tmp_path / "sweep"
    report = write_report(
        out, "t", rows, cell_rows(plan, out, ["sft"]), ["aime24", "math-hard"], ["sft"], plan.evals, [], []
    )
    text = report.read_text()
    table = text.split("## Score by model and data size")[1].split("\n\n")[1].splitlines()
    assert table[0].startswith("| model | size | kind | stage | seed | aime24 | math-hard | average |")
    parsed = 0
    for line in table[2:]:
        model, size, kind, stage, seed, aime, mh, avg = [c.strip() for c in line.strip("|").split("|")]
        ckpt = f"{model}_base" if kind == "base" else f"{model}_{kind}-n{size}-s{seed}/{stage}"
        vals = {}
        for bench, cell in (("aime24", aime), ("math-hard", mh)):
            m = json.loads((out / "evals" / ckpt / bench / "metrics.json").read_text())
            assert cell == f"{100 * m['accuracy']:.1f}", (ckpt, bench)
            vals[bench] = m["accuracy"]
        assert avg == f"{100 * (vals['aime24'] + vals['math-hard']) / 2:.1f}"
        parsed += 1
    assert parsed == 2 + 8
    # hard vs random at equal size: each pair compares the same model, size, seed and stage
    section = text.split("## Subset kinds vs random at equal size")[1].split("\n\n")[1].splitlines()[2:]
    assert len(section) == 2 * 2 * 2  # models x sizes x benchmarks
    assert (out / "scaling.png").is_file() and (out / "hard_vs_random.png").is_file()
    assert "redstar eval --benchmark aime24" in text and "redstar sft sft.yaml" in text
    assert "| a_hardest-n4-s0 | not run |" in text

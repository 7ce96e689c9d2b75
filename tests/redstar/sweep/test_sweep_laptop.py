"""configs/sweep_laptop.yaml, reduced, end to end on the shipped synthetic world: subsets of the
curated rows, the tiny model trained from scratch, both eval sets scored under their own names
with the world's prompt, and the report. It checks the machinery in seconds of training;
test_sweep_laptop_effects.py checks the data effects."""

import json
from pathlib import Path

import pytest

from redstar.cli import main

ROOT = Path(__file__).resolve().parents[3]
LAPTOP = ROOT / "configs" / "sweep_laptop.yaml"

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_reduced_laptop_sweep_runs_on_the_synthetic_world(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)  # the config's paths are relative to the repository
    out = tmp_path / "laptop"
    args = ["sizes=[8,16]", "eval.limit=10", "eval.bootstrap=200", "sft.overrides=[train.epochs=1]"]
    assert main(["sweep", str(LAPTOP), "--out", str(out), *args]) == 0
    rows = [json.loads(line) for line in (out / "sweep.jsonl").read_text().splitlines()]
    assert {r["benchmark"] for r in rows} == {"easy", "hard"}
    assert len(rows) == 2 * (1 + 4)  # the base model and 4 cells, on both sets
    assert all(r["n_items"] == 10 and 0.0 <= r["value"] <= 1.0 for r in rows)
    # the random start never writes \boxed{}: 0 on both sets, the floor the cells start from
    assert [r["value"] for r in rows if r["kind"] == "base"] == [0.0, 0.0]
    for r in rows:
        assert "--benchmark math500" in r["command"] and "synthetic/prompt.txt" in r["command"]
        assert r["eval_dir"].endswith(f"/{r['benchmark']}")
    cells = [json.loads(line) for line in (out / "cells.jsonl").read_text().splitlines()]
    assert sorted(c["cell"] for c in cells) == [
        "tiny_hardest-n16-s0",
        "tiny_hardest-n8-s0",
        "tiny_random-n16-s0",
        "tiny_random-n8-s0",
    ]
    assert all(c["status"] == "done" and c["sft"]["steps"] >= 1 for c in cells)
    hard = json.loads((out / "data" / "hardest-n16-s0.manifest.json").read_text())
    assert hard["difficulty"]["min"] == 8  # the 16 longest chains of the curated rows
    report = (out / "report.md").read_text()
    assert "| model | size | kind | stage | seed | easy | hard | average |" in report
    assert (out / "scaling.png").is_file() and (out / "hard_vs_random.png").is_file()

"""The sweep report's per-cell cost columns (steps, tokens seen, train seconds) cover the whole
training run, not only the steps the trainer happened to log: one real `redstar sft` run of the
synthetic world's tiny model, logging every fifth step, read back by the sweep's collector."""

import json
from pathlib import Path

import pytest

from redstar.cli import main
from redstar.sweep.collect import training_log

ROOT = Path(__file__).resolve().parents[3]
SFT = ROOT / "configs" / "sft_synthetic_tiny.yaml"
CURATED = ROOT / "data_recipes" / "synthetic" / "data" / "curated" / "sft.jsonl"

pytestmark = pytest.mark.integration  # a CLI training run (about 10 s)


def test_tokens_seen_and_train_seconds_cover_every_step(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # the config's paths are relative to the repository
    rows = CURATED.read_text().splitlines()[:24]
    data = tmp_path / "rows.jsonl"
    data.write_text("\n".join(rows) + "\n")
    out = tmp_path / "sft"
    args = [f"data.train=[{data}]", f"out={out}", "train.epochs=3", "train.log_every=5", "train.lr=1e-3"]
    assert main(["sft", str(SFT), *args]) == 0
    logged = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    stats = json.loads((out / "data_stats.json").read_text())
    log = training_log(out)
    steps = logged[-1]["step"]
    assert steps > 2 * len(logged)  # most steps are not logged
    assert log["steps"] == steps
    # every packed token of every epoch (no padding: the packs hold the rows' tokens only)
    assert log["tokens_seen"] == 3 * stats["tokens"]
    # the whole loop's time, not the few logged steps' own
    assert log["train_seconds"] > sum(r["step_time_s"] for r in logged)
    assert log["final_loss"] == logged[-1]["loss"]

"""--slurm: an array script whose task i runs exactly cell i; an eval array after it; --dry-run."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from redstar.sweep.config import SweepConfig
from redstar.sweep.plan import build_plan

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "redstar" / "sweep" / "data" / "demo_sft.jsonl"


def _write_cfg(tmp_path: Path) -> Path:
    sft = tmp_path / "sft.yaml"
    sft.write_text("# schema: redstar.train.sft:SFTConfig\nmodel: default\n")
    dpo = tmp_path / "dpo.yaml"
    dpo.write_text("# schema: redstar.train.dpo:DPOConfig\ndata: {train: []}\n")
    prefs = tmp_path / "prefs.jsonl"
    prefs.write_text(
        "".join(
            json.dumps(
                {
                    "prompt": [{"role": "user", "content": f"What is {i} + {i}?"}],
                    "chosen": [{"role": "assistant", "content": f"\\boxed{{{2 * i}}}"}],
                    "rejected": [{"role": "assistant", "content": f"\\boxed{{{2 * i + 1}}}"}],
                    "images": [],
                }
            )
            + "\n"
            for i in range(12)
        )
    )
    cfg = tmp_path / "sweep.yaml"
    cfg.write_text(f"""# schema: redstar.sweep.config:SweepConfig
name: t
source: {DEMO}
preferences: {prefs}
preference_rows: 8          # the same count as a size: its file must not collide with random-n8
models:
  - {{name: m1, path: org/model-1}}
  - {{name: m2, path: org/model-2}}
sizes: [4, 8]
subsets: [hardest]
seeds: [0, 1]
stages: [sft, dpo]
sft: {{config: {sft}, overrides: [train.lr=3e-6]}}
dpo: {{config: {dpo}}}
eval:
  benchmarks:
    - {{name: aime24, data: aime24.jsonl}}
  max_new_tokens: 64
""")
    return cfg


def _sweep(*argv, cwd):
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    return subprocess.run(
        [sys.executable, "-m", "redstar.cli", "sweep", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _task(script: Path, i: int, cwd: Path) -> list[str]:
    env = dict(os.environ, SLURM_ARRAY_TASK_ID=str(i))
    p = subprocess.run(
        ["bash", str(script), "--dry-run"], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=60
    )
    assert p.returncode == 0, p.stderr
    return [line for line in p.stdout.splitlines() if line.strip()]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_slurm_array_runs_exactly_one_cell_per_task(tmp_path):
    from redstar.config import load_config

    cfg_path = _write_cfg(tmp_path)
    out, slurm = tmp_path / "sweep", tmp_path / "slurm"
    p = _sweep(str(cfg_path), "--out", str(out), "--slurm", str(slurm), "--dry-run", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert not (out / "data").exists()  # --dry-run writes scripts, not data
    plan = build_plan(load_config(SweepConfig, cfg_path), out)
    assert len(plan.cells) == 2 * 2 * 2 * 2  # models x kinds (hardest + its random control) x sizes x seeds
    train = slurm / "train_array.sbatch"
    text = train.read_text()
    assert f"#SBATCH --array=0-{len(plan.cells) - 1}" in text
    for i, cell in enumerate(plan.cells):
        lines = _task(train, i, tmp_path)
        assert len(lines) == 2, lines  # this cell's SFT, then its DPO: nothing else
        sft, dpo = lines
        assert "slurm_sft.sbatch" in sft and " sft " not in sft.split("slurm_sft.sbatch")[0]
        for arg in cell.argv["sft"][1:]:
            assert arg in sft or arg.replace("[", "\\[").replace("]", "\\]") in sft
        assert f"out={cell.dir}/sft" in sft and f"model={cell.model_path}" in sft
        assert f"data.train=\\[{cell.data}\\]" in sft and "train.lr=3e-6" in sft
        assert "redstar.cli dpo" in dpo and f"model={cell.final('sft')}" in dpo and f"out={cell.dir}/dpo" in dpo
        others = [c for c in plan.cells if c.id != cell.id]
        assert not any(f"{o.dir}/" in sft + dpo for o in others)
    p = subprocess.run(
        ["bash", str(train), "--dry-run"],
        env=dict(os.environ, SLURM_ARRAY_TASK_ID=str(len(plan.cells))),
        capture_output=True,
        text=True,
        check=False,
    )
    assert p.returncode == 2 and "no task" in p.stderr
    # eval array: one task per checkpoint (2 base models + 16 cells x 2 stages), each scoring only it
    ev = slurm / "eval_array.sbatch"
    ckpts = list(dict.fromkeys(e.checkpoint for e in plan.evals))
    assert len(ckpts) == 2 + 16 * 2 and f"#SBATCH --array=0-{len(ckpts) - 1}" in ev.read_text()
    for j, ck in enumerate(ckpts):
        runs = [e for e in plan.evals if e.checkpoint == ck]
        lines = _task(ev, j, tmp_path)
        assert len(lines) == len(runs)
        for line, e in zip(lines, runs):
            assert line.startswith("python -m redstar.cli eval ") and f"--model {e.model_path} " in line
            assert f"--out {e.out} " in line and "--max-new-tokens 64 " in line
    # run for real, a cell's eval task says its model is missing instead of failing the array
    p = subprocess.run(
        ["bash", str(ev)], env=dict(os.environ, SLURM_ARRAY_TASK_ID="2"), capture_output=True, text=True, check=False
    )
    assert p.returncode == 0 and "no model, skipped" in p.stderr
    submit = (slurm / "submit.sh").read_text()
    assert "--dependency=afterany:$TRAIN" in submit and "--dependency=afterany:$EVAL" in submit
    assert "--report" in submit


def test_slurm_without_dry_run_writes_the_data_and_skips_finished_cells(tmp_path):
    cfg_path = _write_cfg(tmp_path)
    out, slurm = tmp_path / "sweep", tmp_path / "slurm"
    p = _sweep(str(cfg_path), "--out", str(out), "--slurm", str(slurm), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert (out / "data" / "hardest-n8-s1.jsonl").is_file() and (out / "data" / "random-n4-s0.manifest.json").is_file()
    man = json.loads((out / "data" / "preferences-s0.manifest.json").read_text())
    assert man["rows"] == 8 and man["rows_kind"] == "preference" and (out / "data" / "preferences-s0.jsonl").is_file()
    assert json.loads((out / "data" / "random-n8-s0.manifest.json").read_text())["rows_kind"] == "sft"
    # a finished cell's task prints that it is done instead of training again
    from redstar.config import load_config

    plan = build_plan(load_config(SweepConfig, cfg_path), out)
    final = Path(plan.cells[0].final("sft"))
    final.mkdir(parents=True)
    (final / "config.json").write_text("{}")
    lines = _task(slurm / "train_array.sbatch", 0, tmp_path)
    assert lines[0] == f"{plan.cells[0].id} sft: done" and "redstar.cli dpo" in lines[1]
    # the same sweep again without --resume is refused; with --resume it is accepted
    p = _sweep(str(cfg_path), "--out", str(out), "--slurm", str(slurm), cwd=tmp_path)
    assert p.returncode == 2 and "--resume" in p.stderr
    p = _sweep(str(cfg_path), "--out", str(out), "--slurm", str(slurm), "--resume", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    # a changed setting or input on resume is refused, naming what changed
    p = _sweep(
        str(cfg_path),
        "--out",
        str(out),
        "--slurm",
        str(slurm),
        "--resume",
        "sft.overrides=[train.lr=1e-6]",
        cwd=tmp_path,
    )
    assert p.returncode == 2 and "other inputs" in p.stderr and "sft.overrides" in p.stderr
    # after the jobs, --report reads what the tasks left: a cell with every stage's model is done
    dpo_final = Path(plan.cells[0].final("dpo"))
    dpo_final.mkdir(parents=True)
    (dpo_final / "config.json").write_text("{}")
    p = _sweep(str(cfg_path), "--out", str(out), "--report", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    status = [json.loads(line)["status"] for line in (out / "cells.jsonl").read_text().splitlines()]
    assert status == ["done"] + ["not run"] * (len(plan.cells) - 1)
    sft = tmp_path / "sft.yaml"
    sft.write_text(sft.read_text() + "out: elsewhere\n")  # the base config was edited
    p = _sweep(str(cfg_path), "--out", str(out), "--slurm", str(slurm), "--resume", cwd=tmp_path)
    assert p.returncode == 2 and f"input:{sft}" in p.stderr
    # the report refuses a config other than the sweep's, and reads the one it ran
    p = _sweep(str(cfg_path), "--out", str(out), "--report", "sizes=[4]", cwd=tmp_path)
    assert p.returncode == 2 and "sizes" in p.stderr

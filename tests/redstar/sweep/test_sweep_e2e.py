"""`redstar sweep` end to end on a tiny model: data, training cells, evals, report; killed midway
it resumes without redoing finished cells; a failed cell does not stop the others."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from redstar.models import tiny_causal_lm

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "redstar" / "sweep" / "data" / "demo_sft.jsonl"
AIME = ROOT / "data_recipes" / "demo_data" / "aime24.jsonl"

pytestmark = pytest.mark.integration


def _env():
    return dict(
        os.environ,
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        MPLBACKEND="Agg",
        OMP_NUM_THREADS="1",
    )


def _config(tmp_path: Path) -> Path:
    model = tmp_path / "tiny"
    m, tok = tiny_causal_lm(seed=0)
    m.save_pretrained(model)
    tok.save_pretrained(model)
    sft = tmp_path / "sft.yaml"
    sft.write_text(f"""# schema: redstar.train.sft:SFTConfig
model: {model}
out: {tmp_path / "unused"}
attn_implementation: sdpa
data: {{train: [], max_len: 256, pack_len: 256}}
train: {{lr: 1.0e-3, max_steps: 2, dtype: float32, device: cpu, tensorboard: false, progress: false,
         warmup_ratio: 0.0, gradient_checkpointing: false}}
""")
    cfg = tmp_path / "sweep.yaml"
    cfg.write_text(f"""# schema: redstar.sweep.config:SweepConfig
name: e2e
source: {DEMO}
models:
  - {{name: tiny, path: {model}}}
  - {{name: broken, path: {tmp_path / "no-such-model"}}}
sizes: [2]
subsets: [hardest]
sft: {{config: {sft}}}
eval:
  benchmarks: [{{name: aime24, data: {AIME}}}]
  max_new_tokens: 4
  limit: 3
  args: [--workers, "1", --backend, hf]
  bootstrap: 200
""")
    return cfg


def test_sweep_runs_resumes_after_a_kill_and_reports_failed_cells(tmp_path):
    cfg = _config(tmp_path)
    out = tmp_path / "sweep"
    argv = [sys.executable, "-m", "redstar.cli", "sweep", str(cfg), "--out", str(out)]
    first = out / "cells" / "tiny_hardest-n2-s0" / "sft" / "final" / "config.json"
    record = out / "state" / "cells__tiny_hardest-n2-s0.json"
    proc = subprocess.Popen(
        argv,
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if first.is_file() and record.is_file() and json.loads(record.read_text()).get("status") == "done":
            break
        time.sleep(0.5)
    assert proc.poll() is None, proc.stdout.read()[-3000:]
    os.killpg(proc.pid, signal.SIGKILL)  # killed midway: the second cell has not finished
    proc.wait()
    assert not (out / "sweep.jsonl").exists()
    mtime = first.stat().st_mtime_ns
    # the same command without --resume is refused
    p = subprocess.run(argv, cwd=tmp_path, env=_env(), capture_output=True, text=True, check=False, timeout=60)
    assert p.returncode == 2 and "--resume" in p.stderr
    # resumed with two cells at once (jobs is not part of the sweep's key: results do not depend on it)
    resume = [*argv[:5], "jobs=2", *argv[5:], "--resume"]
    p = subprocess.run(resume, cwd=tmp_path, env=_env(), capture_output=True, text=True, check=False, timeout=400)
    log = p.stdout + p.stderr
    assert p.returncode == 1, log[-3000:]  # the broken model's cells failed ...
    assert "cell tiny_hardest-n2-s0: already done; skipped" in log
    assert first.stat().st_mtime_ns == mtime  # ... the finished cell was not redone
    assert (out / "cells" / "tiny_random-n2-s0" / "sft" / "final" / "config.json").is_file()
    assert "cell broken_hardest-n2-s0: exit" in log and "cell broken_random-n2-s0: exit" in log
    # results: the tiny base model and both of its cells, one row each on the one benchmark
    rows = [json.loads(line) for line in (out / "sweep.jsonl").read_text().splitlines()]
    assert sorted(r["checkpoint"] for r in rows) == ["tiny_base", "tiny_hardest-n2-s0/sft", "tiny_random-n2-s0/sft"]
    for r in rows:
        m = json.loads((Path(r["eval_dir"]) / "metrics.json").read_text())
        assert r["value"] == m["accuracy"] and r["n_items"] == m["n_items"] == 3
        assert r["ci_low"] <= r["value"] <= r["ci_high"]
        assert m["generation"]["max_new_tokens"] == 4 and m["generation"]["temperature"] == 0.0
    cells = {c["cell"]: c for c in map(json.loads, (out / "cells.jsonl").read_text().splitlines())}
    assert cells["tiny_hardest-n2-s0"]["status"] == "done" and cells["broken_random-n2-s0"]["status"] == "failed"
    assert cells["tiny_random-n2-s0"]["sft"]["steps"] == 2 and cells["tiny_random-n2-s0"]["tokens_seen"] > 0
    for kind in ("hardest", "random"):
        man = json.loads((out / "data" / f"{kind}-n2-s0.manifest.json").read_text())
        assert man["rows"] == 2 and man["source"] == str(DEMO)
    report = (out / "report.md").read_text()
    assert "## Failed" in report and "broken_hardest-n2-s0" in report and "redstar sft" in report
    assert (out / "scaling.png").is_file()

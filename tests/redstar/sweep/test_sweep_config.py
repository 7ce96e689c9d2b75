"""Sweep settings the laptop sweep needs: two eval sets of one format under their own names, and
the CPU threads of each child command."""

import os
import sys
from pathlib import Path

import pytest

from redstar.config import ConfigError, load_config
from redstar.sweep.config import SweepConfig, check
from redstar.sweep.plan import build_plan

ROOT = Path(__file__).resolve().parents[3]
LAPTOP = ROOT / "configs" / "sweep_laptop.yaml"


def test_two_sets_of_one_format_keep_their_names_and_run_with_the_format():
    cfg = load_config(SweepConfig, str(LAPTOP))
    check(cfg, str(LAPTOP))
    plan = build_plan(cfg, Path("runs/laptop"))
    evals = {e.id: e for e in plan.evals}
    assert {"tiny_base/easy", "tiny_base/hard"} <= set(evals)
    for name in ("easy", "hard"):
        argv = evals[f"tiny_base/{name}"].argv
        assert argv[argv.index("--benchmark") + 1] == "math500"
        assert argv[argv.index("--out") + 1] == f"runs/laptop/evals/tiny_base/{name}"
        assert argv[argv.index("--data") + 1].endswith(f"eval_{name}.jsonl")
    # sizes span 16x; random and hardest at each size
    assert max(cfg.sizes) / min(cfg.sizes) >= 16 and {c.kind for c in plan.cells} == {"random", "hardest"}
    # every path the config names exists in a fresh clone
    for p in (cfg.source, cfg.models[0].path, cfg.sft.config, *[b.data for b in cfg.eval.benchmarks]):
        assert (ROOT / p).exists(), p


def test_a_benchmark_without_format_runs_under_its_name_and_repeated_names_are_refused():
    cfg = load_config(SweepConfig, str(ROOT / "configs" / "sweep_demo.yaml"))
    argv = build_plan(cfg, Path("o")).evals[0].argv
    assert argv[argv.index("--benchmark") + 1] == "math-hard"
    cfg = load_config(SweepConfig, str(LAPTOP), ["eval.benchmarks.1.name=easy"])
    with pytest.raises(ConfigError, match="names must be unique"):
        check(cfg, "x.yaml")
    cfg = load_config(SweepConfig, str(LAPTOP), ["threads=-1"])
    with pytest.raises(ConfigError, match="'threads' must be >= 0"):
        check(cfg, "x.yaml")


def test_threads_set_the_child_commands_cpu_threads(tmp_path, monkeypatch):
    from redstar.sweep import cli

    seen = {}

    class FakePopen:
        def __init__(self, argv, env, **kw):
            seen["env"] = env
            self.stdout = iter(["[sft] ok\n"])

        def wait(self):
            return 0

    monkeypatch.setattr(cli.subprocess, "Popen", FakePopen)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert cli._run(["sft"], tmp_path / "a.log", threads=1)[0] == 0
    assert seen["env"]["OMP_NUM_THREADS"] == "1"
    cli._run(["sft"], tmp_path / "b.log", threads=0)
    assert "OMP_NUM_THREADS" not in seen["env"] and seen["env"] is not os.environ
    assert sys.executable  # the child is this interpreter's redstar


def test_threads_do_not_change_the_sweep_key(tmp_path):
    from redstar.sweep import state

    cfg = load_config(SweepConfig, str(LAPTOP))
    state.open_sweep(tmp_path / "s", cfg, resume=False)
    (tmp_path / "s" / "data").mkdir()
    (tmp_path / "s" / "data" / "random-n32-s0.jsonl").write_text("{}\n")  # the sweep has written something
    other = load_config(SweepConfig, str(LAPTOP), ["threads=2"])
    state.open_sweep(tmp_path / "s", other, resume=True)  # accepted: only how it runs changed
    changed = load_config(SweepConfig, str(LAPTOP), ["sizes=[16,128,512]"])
    with pytest.raises(ConfigError):
        state.open_sweep(tmp_path / "s", changed, resume=True)

"""The run-directory contract on `redstar sft`, as a user meets it: kill and re-run, re-run
into a finished directory, change one key and re-run, --overwrite, read the outputs as another
user under umask 022."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "redstar" / "train" / "data" / "sft_tiny.jsonl"


def _cli(args, env_extra=None):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **(env_extra or {})}

    def umask022():
        os.umask(0o022)

    return subprocess.run(
        [sys.executable, "-m", "redstar.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=umask022,
        check=False,
    )


def _config(write_sft_config, out):
    return write_sft_config(
        out, train={"max_steps": 4, "progress": False, "tensorboard": False, "gradient_checkpointing": False}
    )


def _steps(out):
    return [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_sft_run_dir_kill_rerun_finished_changed_overwrite(tmp_path, write_sft_config):
    out = tmp_path / "run"
    cfg = _config(write_sft_config, out)

    killed = _cli(["sft", str(cfg)], {"REDSTAR_KILL_AFTER_CHECKPOINT": "2"})
    assert killed.returncode == -9
    assert json.loads((out / "run.json").read_text())["status"] == "running"
    # the killed process had logged a step past its last checkpoint
    with open(out / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"step": 3, "loss": 9.0}) + "\n")

    resumed = _cli(["sft", str(cfg)])
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resumed from" in resumed.stdout
    assert _steps(out) == [1, 2, 3, 4]  # step 3 redone, logged once
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "complete" and record["key"]["train.lr"] == 1e-3

    weights = out / "final" / "model.safetensors"
    mtime = weights.stat().st_mtime_ns
    again = _cli(["sft", str(cfg)])  # a finished run is never re-trained
    assert again.returncode == 0 and "already complete" in again.stdout
    assert weights.stat().st_mtime_ns == mtime and _steps(out) == [1, 2, 3, 4]

    changed = _cli(["sft", str(cfg), "train.lr=2e-3"])
    assert changed.returncode == 2
    err = changed.stderr.strip()
    assert "train.lr: 0.001 -> 0.002" in err and "--overwrite" in err and len(err.splitlines()) == 1
    assert "Traceback" not in changed.stderr and weights.stat().st_mtime_ns == mtime

    over = _cli(["sft", str(cfg), "train.lr=2e-3", "--overwrite"])
    assert over.returncode == 0, over.stderr[-2000:]
    assert "resumed from" not in over.stdout and _steps(out) == [1, 2, 3, 4]
    assert json.loads((out / "run.json").read_text())["key"]["train.lr"] == 2e-3

    # another user on the machine can read every output (umask 022 in the run)
    unreadable = [
        str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and not p.stat().st_mode & stat.S_IROTH
    ]
    assert unreadable == []


def test_sft_skipped_rows_are_counted_on_the_terminal_in_the_stats_and_the_card(tmp_path, write_sft_config):
    good = FIXTURE.read_text().splitlines()[:4]
    data = tmp_path / "rows.jsonl"
    data.write_text(
        "\n".join(
            [
                good[0],
                '{"messages": [{"role": "user", "content": "cut',
                good[1],
                '{"id": "r4", "messages": [{"role": "user", "content": "no answer"}]}',
                good[2],
                "[1, 2]",
                good[3],
            ]
        )
        + "\n"
    )
    cfg = _config(write_sft_config, tmp_path / "run")
    r = _cli(["sft", str(cfg), f"data.train=[{data}]", "data.skip_bad=true", "train.max_steps=1"])
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"rows read 7, used 4: skipped as malformed 3 (first: {data}:2: malformed JSON" in r.stdout
    stats = json.loads((tmp_path / "run" / "data_stats.json").read_text())
    assert (stats["rows_read"], stats["used"], stats["bad_rows"]) == (7, 4, 3)
    assert [w.split(": ")[0] for w in stats["first_bad"]] == [f"{data}:2", f"{data}:4 (id r4)", f"{data}:6"]
    card = (tmp_path / "run" / "final" / "README.md").read_text()
    assert "Rows read: 7; used: 4" in card and f"skipped as malformed: 3, first at {data}:2" in card


def test_dpo_follows_the_same_contract(tmp_path):
    dpo = [
        str(ROOT / "configs" / "dpo_tiny_cpu.yaml"),
        f"out={tmp_path / 'dpo'}",
        "train.max_steps=1",
        f"data.train=[{ROOT / 'redstar' / 'train' / 'data' / 'dpo_tiny.jsonl'}]",
    ]
    first = _cli(["dpo", *dpo])
    assert first.returncode == 0, first.stderr[-2000:]
    again = _cli(["dpo", *dpo])
    assert again.returncode == 0 and "already complete" in again.stdout
    changed = _cli(["dpo", *dpo, "dpo.beta=0.2"])
    assert changed.returncode == 2 and "dpo.beta: 0.1 -> 0.2" in changed.stderr
    other = _cli(["sft", str(ROOT / "configs" / "sft_tiny_cpu.yaml"), f"out={tmp_path / 'dpo'}"])
    assert other.returncode == 2 and "holds a `redstar dpo` run, not `redstar sft`" in other.stderr


def test_sft_killed_after_its_last_step_only_exports(tmp_path, write_sft_config):
    out = tmp_path / "run"
    cfg = _config(write_sft_config, out)
    killed = _cli(["sft", str(cfg), "train.save_every=3"], {"REDSTAR_KILL_AFTER_CHECKPOINT": "4"})
    assert killed.returncode == -9 and not (out / "final").exists()
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step-000003", "step-000004"]
    again = _cli(["sft", str(cfg), "train.save_every=3"])
    assert again.returncode == 0, again.stderr[-2000:]
    assert "step 4" in again.stdout and (out / "final" / "model.safetensors").is_file()
    assert _steps(out) == [1, 2, 3, 4]  # nothing trained twice


def test_a_run_that_failed_before_any_work_is_rerun_with_fixed_inputs(tmp_path):
    """The first run stops on bad data (nothing trained, nothing written but the record); the
    user fixes the data and runs again into the same directory: no --overwrite needed."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "no pair here"}\n')
    dpo = [str(ROOT / "configs" / "dpo_tiny_cpu.yaml"), f"out={tmp_path / 'dpo'}", "train.max_steps=1"]
    failed = _cli(["dpo", *dpo, f"data.train=[{bad}]"])
    assert failed.returncode != 0 and "bad.jsonl" in failed.stderr
    fixed = _cli(["dpo", *dpo, f"data.train=[{ROOT / 'redstar' / 'train' / 'data' / 'dpo_tiny.jsonl'}]"])
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    assert json.loads((tmp_path / "dpo" / "run.json").read_text())["status"] == "complete"

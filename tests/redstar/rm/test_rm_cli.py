"""`redstar rm train / score / rmk` end to end on files in the real row formats."""

import json
from pathlib import Path

import pytest

from redstar.cli import main
from redstar.models import tiny_causal_lm


@pytest.fixture
def base_model(tmp_path):
    model, tok = tiny_causal_lm(seed=0)
    model.save_pretrained(tmp_path / "base")
    tok.save_pretrained(tmp_path / "base")
    return tmp_path / "base"


def _write_config(path, model, out, problems, samples):
    path.write_text(f"""# schema: redstar.rm.train:RMTrainConfig
model: {model}
out: {out}
loss: listwise_bt
data:
  samples: [{samples}]
  problems: {problems}
  n: 4
  eval_fraction: 0.25
  max_len: 128
  groups_per_micro: 8
train:
  lr: 3.0e-3
  epochs: 2
  warmup_ratio: 0.0
  dtype: float32
  gradient_checkpointing: false
  device: cpu
  tensorboard: false
  progress: false
""")


@pytest.mark.integration
def test_train_score_rmk_end_to_end(tmp_path, base_model, task_files, capsys):
    problems, samples = task_files
    cfg = tmp_path / "rm.yaml"
    _write_config(cfg, base_model, tmp_path / "run", problems, samples)
    assert main(["rm", "train", str(cfg), "train.seed=1"]) == 0
    final = tmp_path / "run" / "final"
    assert "seed: 1" in (final / "redstar_config.yaml").read_text()  # the override is in the stored config
    assert json.loads((tmp_path / "run" / "rm_eval.json").read_text())["eval_after"]["pair_acc"] >= 0.9
    # run.json names the token cache the run read (safe to delete: the next run rebuilds it)
    cache = json.loads((tmp_path / "run" / "run.json").read_text())["token_caches"]["rm"]
    assert (Path(cache) / "meta.json").is_file() and json.loads((Path(cache) / "meta.json").read_text())["key"][
        "kind"
    ] == "rm"

    out = tmp_path / "scored.jsonl"
    assert (
        main(
            [
                "rm",
                "score",
                "--model",
                str(final),
                "--input",
                str(samples),
                "--problems",
                str(problems),
                "--out",
                str(out),
                "--batch-size",
                "16",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    src = [json.loads(line) for line in samples.read_text().splitlines()]
    assert [r["response"] for r in rows] == [s["response"] for s in src]  # input order kept
    assert all(isinstance(r["scores"]["rm"], float) for r in rows)
    # on these problems (train and held out) the correct answer of each pair scores higher
    wins = sum(rows[i]["scores"]["rm"] > rows[i + 1]["scores"]["rm"] for i in range(0, len(rows), 2))
    assert wins / (len(rows) // 2) >= 0.9

    assert main(["rm", "rmk", "--input", str(out), "--out", str(tmp_path / "rmk"), "--k", "1", "2", "4"]) == 0
    table = {r["k"]: r for r in json.loads((tmp_path / "rmk" / "rmk.json").read_text())["table"]}
    assert table[1]["pass"] == pytest.approx(0.5)
    assert table[2]["rm"] > table[2]["maj"] and table[4]["rm"] == pytest.approx(table[4]["pass"], abs=0.1)
    assert "rm score: scored 128 responses in 128 samples rows" in capsys.readouterr().out


def test_score_bad_inputs_are_one_line_errors(tmp_path, base_model, task_files, capsys):
    problems, samples = task_files
    from redstar.rm.model import RewardModel

    rm, tok = RewardModel.from_causal_lm(str(base_model))
    rm.save_pretrained(tmp_path / "rm", tok)

    lines = samples.read_text().splitlines()
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines[:2] + ['{"problem_id": "x", "model": "m"}'] + lines[2:4]) + "\n")
    args = ["rm", "score", "--model", str(tmp_path / "rm"), "--problems", str(problems), "--device", "cpu"]
    assert main(args + ["--input", str(bad), "--out", str(tmp_path / "o.jsonl")]) == 2
    assert f"{bad}:3" in capsys.readouterr().err and not (tmp_path / "o.jsonl").exists()

    # --skip-bad scores the rest
    assert main(args + ["--input", str(bad), "--out", str(tmp_path / "o.jsonl"), "--skip-bad"]) == 0
    assert len((tmp_path / "o.jsonl").read_text().splitlines()) == 4

    orphan = tmp_path / "orphan.jsonl"
    orphan.write_text(json.dumps({"problem_id": "nope", "response": "r"}) + "\n")
    assert main(args + ["--input", str(orphan), "--out", str(tmp_path / "o2.jsonl")]) == 2
    assert "'nope'" in capsys.readouterr().err

    assert (
        main(
            [
                "rm",
                "score",
                "--model",
                str(tmp_path / "missing"),
                "--input",
                str(samples),
                "--out",
                str(tmp_path / "o3.jsonl"),
            ]
        )
        == 2
    )
    assert "no such reward-model directory" in capsys.readouterr().err


def test_train_config_errors(tmp_path, base_model, task_files, capsys):
    problems, samples = task_files
    cfg = tmp_path / "rm.yaml"
    _write_config(cfg, base_model, tmp_path / "run", problems, samples)
    assert main(["rm", "train", str(cfg), "loss=hinge"]) == 2
    assert "loss" in capsys.readouterr().err
    all_right = tmp_path / "right.jsonl"
    all_right.write_text("".join(line + "\n" for line in samples.read_text().splitlines() if '"correct": true' in line))
    assert main(["rm", "train", str(cfg), f"data.samples=[{all_right}]"]) == 2
    assert "no problem has both a correct and a wrong response" in capsys.readouterr().err


def test_score_response_lists_for_eval(tmp_path, base_model, task_files):
    """Rows {id, prompt, responses} (what `redstar eval --responses` reads) get one score per
    response, equal to scoring the same (question, response) pairs as Sample rows."""
    from redstar.rm.model import RewardModel

    problems, samples = task_files
    rm, tok = RewardModel.from_causal_lm(str(base_model))
    rm.save_pretrained(tmp_path / "rm", tok)
    qs = {json.loads(line)["id"]: json.loads(line)["question"] for line in problems.read_text().splitlines()}
    src = [json.loads(line) for line in samples.read_text().splitlines()][:8]
    by_id: dict = {}
    for s in src:
        by_id.setdefault(s["problem_id"], []).append(s["response"])
    listed = tmp_path / "responses.jsonl"
    listed.write_text(
        "".join(
            json.dumps({"id": pid, "prompt": [{"role": "user", "content": qs[pid]}], "responses": rs}) + "\n"
            for pid, rs in by_id.items()
        )
    )
    common = ["--model", str(tmp_path / "rm"), "--device", "cpu", "--batch-size", "3"]
    assert main(["rm", "score", "--input", str(listed), "--out", str(tmp_path / "l.jsonl"), *common]) == 0
    assert (
        main(
            [
                "rm",
                "score",
                "--input",
                str(samples),
                "--problems",
                str(problems),
                "--out",
                str(tmp_path / "s.jsonl"),
                *common,
            ]
        )
        == 0
    )
    got = [json.loads(line) for line in (tmp_path / "l.jsonl").read_text().splitlines()]
    flat = [x for row in got for x in row["scores"]]
    ref = [json.loads(line)["scores"]["rm"] for line in (tmp_path / "s.jsonl").read_text().splitlines()][:8]
    assert [len(r["scores"]) for r in got] == [len(rs) for rs in by_id.values()]
    assert flat == pytest.approx(ref, abs=1e-5)

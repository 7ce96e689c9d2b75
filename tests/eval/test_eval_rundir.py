"""`redstar eval` keeps the run-directory contract (redstar/rundir.py): a run that wrote no
response does not hold its directory, another command's directory is refused, a finished run is
scored again from its stored responses; malformed benchmark rows stop a --strict run and make
the default run exit 1 naming the count and the first path:line."""

from __future__ import annotations

import json

import eval_fixtures as fx

import eval.cli as eval_cli
from redstar.cli import main
from redstar.generation import Backend, Completion


class Answers(Backend):
    """Answers every question with '7' (scored right on the first GSM8K item only)."""

    name = "answers"

    def __init__(self):
        self.seen = []

    def generate(self, requests, cfg):
        self.seen += [r.id for r in requests]
        return [[Completion("The answer is \\boxed{7}.", "stop")] * cfg.n for _ in requests]


def _eval(data, out, *extra, backend=None, monkeypatch=None):
    if backend is not None:
        monkeypatch.setattr(eval_cli, "_make_backend", lambda args, kind: backend)
    argv = ["eval", "--benchmark", "gsm8k", "--data", str(data), "--out", str(out), "--workers", "1"]
    return main([*argv, "--backend", "hf", *extra])


def _one_line(capsys) -> str:
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("redstar eval: error:")]
    assert len(lines) == 1
    return lines[0]


def test_a_run_that_generated_nothing_gives_way_to_the_corrected_one(tmp_path, monkeypatch, capsys):
    data = fx.gsm8k(tmp_path / "test.jsonl")
    out = tmp_path / "out"
    # a mistyped model: the run stops before its first response
    assert _eval(data, out, "--model", str(tmp_path / "runs" / "sft" / "fnial")) == 2
    assert "fnial" in _one_line(capsys)
    assert sorted(p.name for p in out.iterdir()) == ["run.json"]
    # the corrected run (another model, so another key) is not refused
    backend = Answers()
    assert _eval(data, out, "--model", "answers", backend=backend, monkeypatch=monkeypatch) == 0
    assert backend.seen == ["0", "1"]
    record = json.loads((out / "run.json").read_text())
    assert record["command"] == "eval" and record["status"] == "complete"
    assert record["key"]["model"] == "answers" and record["summary"]["n_items"] == 2


def test_another_commands_directory_is_refused(tmp_path, monkeypatch, capsys):
    data = fx.gsm8k(tmp_path / "test.jsonl")
    sft = tmp_path / "runs" / "sft"
    (sft / "final").mkdir(parents=True)
    (sft / "final" / "config.json").write_text("{}")
    (sft / "run.json").write_text(json.dumps({"command": "sft", "status": "complete", "key_hash": "x", "key": {}}))
    backend = Answers()
    assert _eval(data, sft, "--model", "answers", backend=backend, monkeypatch=monkeypatch) == 2
    assert "holds a `redstar sft` run, not `redstar eval`" in _one_line(capsys)
    # a model directory (files, no run record) is refused too
    assert _eval(data, sft / "final", "--model", "answers", backend=backend, monkeypatch=monkeypatch) == 2
    assert "is not empty and holds no run record" in _one_line(capsys)
    assert backend.seen == [] and sorted(p.name for p in sft.rglob("*")) == ["config.json", "final", "run.json"]


def test_a_finished_run_is_scored_again_and_other_responses_are_refused(tmp_path, capsys):
    data = fx.gsm8k(tmp_path / "test.jsonl")
    resp = fx.write_jsonl(tmp_path / "r.jsonl", [{"id": "0", "responses": ["7"]}, {"id": "1", "responses": ["1234"]}])
    out = tmp_path / "out"
    assert fx.score_stored("gsm8k", data, resp, out) == 0
    assert json.loads((out / "metrics.json").read_text())["protocol"] == "redstar"
    capsys.readouterr()
    assert fx.score_stored("gsm8k", data, resp, out, "--protocol", "official") == 0  # other scoring options
    assert "finished earlier with the same settings; scoring its responses again" in capsys.readouterr().err
    assert json.loads((out / "metrics.json").read_text())["protocol"] == "official"
    assert json.loads((out / "run.json").read_text())["config"]["protocol"] == "official"
    other = fx.write_jsonl(tmp_path / "r2.jsonl", [{"id": "0", "responses": ["8"]}])
    assert fx.score_stored("gsm8k", data, other, out) == 2
    assert f'responses: "{resp}" -> "{other}"' in _one_line(capsys)


def _with_bad_row(tmp_path):
    data = fx.gsm8k(tmp_path / "test.jsonl")
    rows = data.read_text().splitlines()
    bad = json.dumps({"question": "No answer line.", "answer": "It is 3."})
    data.write_text("\n".join([rows[0], bad, "{torn", rows[1]]) + "\n")
    resp = fx.write_jsonl(tmp_path / "r.jsonl", [{"id": str(i), "responses": ["\\boxed{7}"]} for i in range(4)])
    return data, resp


def test_malformed_rows_exit_1_naming_count_and_first_line(tmp_path, capsys):
    data, resp = _with_bad_row(tmp_path)
    out = tmp_path / "out"
    assert fx.score_stored("gsm8k", data, resp, out) == 1
    err = capsys.readouterr().err
    line = next(ln for ln in err.splitlines() if "malformed benchmark row(s) skipped" in ln)
    assert line.startswith(f"redstar eval: 2 malformed benchmark row(s) skipped (first: {data}:2 (id 1): ")
    assert "no '#### <number>' line" in line
    m = json.loads((out / "metrics.json").read_text())
    assert (m["n_items"], m["n_skipped"]) == (2, 2)  # the run itself finished
    assert json.loads((out / "run.json").read_text())["status"] == "complete"


def test_strict_stops_at_the_first_malformed_row(tmp_path, capsys):
    data, resp = _with_bad_row(tmp_path)
    out = tmp_path / "out"
    assert fx.score_stored("gsm8k", data, resp, out, "--strict") == 2
    line = _one_line(capsys)
    assert line.startswith(f"redstar eval: error: {data}:2 (id 1): answer has no '#### <number>' line")
    assert "--strict" in line and not (out / "metrics.json").exists()
    # a line that is not JSON at all stops it too, named by its line
    data.write_text("\n".join(ln for i, ln in enumerate(data.read_text().splitlines()) if i != 1) + "\n")
    assert fx.score_stored("gsm8k", data, resp, out, "--strict") == 2
    assert f"{data}:2: malformed JSON" in _one_line(capsys)


def test_a_card_written_into_the_model_does_not_change_the_runs_key(tmp_path, monkeypatch, capsys):
    import os

    data = fx.gsm8k(tmp_path / "test.jsonl")
    model, out = tmp_path / "model", tmp_path / "out"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"\0" * 64)
    assert _eval(data, out, "--model", str(model), backend=Answers(), monkeypatch=monkeypatch) == 0
    # `redstar card MODEL --eval OUT` (or eval --card) writes the card and its evidence there
    (model / "README.md").write_text("---\nmodel-index: []\n---\n")
    (model / "eval_results.json").write_text("{}")
    (model / "eval" / "gsm8k").mkdir(parents=True)
    (model / "eval" / "gsm8k" / "metrics.json").write_text("{}")
    capsys.readouterr()
    assert _eval(data, out, "--model", str(model), backend=Answers(), monkeypatch=monkeypatch) == 0
    assert "scoring its responses again" in capsys.readouterr().err
    # new weights are another model: refused, naming the changed input
    (model / "model.safetensors").write_bytes(b"\1" * 128)
    os.utime(model / "model.safetensors", (2_000_000_000, 2_000_000_000))
    assert _eval(data, out, "--model", str(model), backend=Answers(), monkeypatch=monkeypatch) == 2
    assert f"input:{model}: " in _one_line(capsys)

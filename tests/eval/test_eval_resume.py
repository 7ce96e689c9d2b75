"""An interrupted `redstar eval` continues from the items it lacks; responses carry finish
reasons; a truncated response is never graded on its last number."""

from __future__ import annotations

import json

import eval_fixtures as fx
import pytest

import eval.cli as eval_cli
from redstar.cli import main
from redstar.generation import Backend, Completion

ANSWERS = {"Tom": "He has 3 + 4 apples, so 7", "book": "1200 + 34 gives 1234"}


class ScriptedBackend(Backend):
    """Answers each GSM8K question from ANSWERS (no box, so the last-number fallback, which these
    runs turn on with --fallback, decides);
    raises after ``fail_after`` items, as a killed or crashed run would stop."""

    name = "scripted"

    def __init__(self, fail_after=None, reason="stop"):
        self.fail_after, self.reason, self.seen = fail_after, reason, []

    def generate(self, requests, cfg):
        out = []
        for r in requests:
            if self.fail_after is not None and len(self.seen) >= self.fail_after:
                raise RuntimeError("generation interrupted")
            self.seen.append(r.id)
            q = r.messages[-1]["content"]
            text = next(a for k, a in ANSWERS.items() if k in q)
            out.append([Completion(text, self.reason)] * cfg.n)
        return out


def _eval(tmp_path, data, out, backend, *extra):
    made = []

    def make(args, kind):
        made.append(kind)
        return backend

    eval_cli._make_backend, saved = make, eval_cli._make_backend
    try:
        return main(
            [
                "eval",
                "--benchmark",
                "gsm8k",
                "--data",
                str(data),
                "--model",
                "scripted",
                "--backend",
                "hf",
                "--fallback",
                "--out",
                str(out),
                "--workers",
                "1",
                "--chunk-size",
                "1",
                *extra,
            ]
        ), made
    finally:
        eval_cli._make_backend = saved


def _log(out):
    return [json.loads(line) for line in (out / "responses.jsonl").read_text().splitlines() if line.strip()]


def test_interrupted_eval_resumes_from_missing_items(tmp_path, capsys):
    data = fx.gsm8k(tmp_path / "test.jsonl")
    out = tmp_path / "out"
    code, _ = _eval(tmp_path, data, out, ScriptedBackend(fail_after=1))
    assert code == 1 and "generation interrupted" in capsys.readouterr().err
    first = _log(out)
    assert [r["id"] for r in first] == ["0"] and first[0]["finish_reasons"] == ["stop"]
    assert not (out / "metrics.json").exists()

    again = ScriptedBackend()
    code, _ = _eval(tmp_path, data, out, again)
    assert code == 0 and again.seen == ["1"]  # only the missing item is generated
    assert "resuming: 1 of 2 items" in capsys.readouterr().err
    assert [r["id"] for r in _log(out)] == ["0", "1"]
    m = json.loads((out / "metrics.json").read_text())
    assert m["n_items"] == 2 and m["accuracy"] == 1.0 and m["truncation_rate"] == 0.0

    # complete: a third run generates nothing and builds no backend
    code, made = _eval(tmp_path, data, out, ScriptedBackend(fail_after=0))
    assert code == 0 and made == []


def test_torn_last_line_is_generated_again(tmp_path):
    data = fx.gsm8k(tmp_path / "test.jsonl")
    out = tmp_path / "out"
    assert _eval(tmp_path, data, out, ScriptedBackend())[0] == 0
    lines = (out / "responses.jsonl").read_text().splitlines()
    (out / "responses.jsonl").write_text(lines[0] + "\n" + lines[1][:15])  # killed mid-write
    again = ScriptedBackend()
    assert _eval(tmp_path, data, out, again)[0] == 0
    assert again.seen == ["1"] and [r["id"] for r in _log(out)] == ["0", "1"]


def test_changed_settings_are_refused_with_the_changed_keys(tmp_path, capsys):
    data = fx.gsm8k(tmp_path / "test.jsonl")
    out = tmp_path / "out"
    assert _eval(tmp_path, data, out, ScriptedBackend(fail_after=1))[0] == 1
    capsys.readouterr()
    code, _ = _eval(tmp_path, data, out, ScriptedBackend(), "--max-new-tokens", "64")
    assert code == 2 and "max_new_tokens: 32768 -> 64" in capsys.readouterr().err
    again = ScriptedBackend()
    assert _eval(tmp_path, data, out, again, "--max-new-tokens", "64", "--overwrite")[0] == 0
    assert again.seen == ["0", "1"]


def test_truncated_response_gets_no_last_number_fallback(tmp_path):
    data = fx.gsm8k(tmp_path / "test.jsonl")
    stopped, cut = tmp_path / "stopped", tmp_path / "cut"
    assert _eval(tmp_path, data, stopped, ScriptedBackend(reason="stop"))[0] == 0
    assert _eval(tmp_path, data, cut, ScriptedBackend(reason="length"))[0] == 0
    m_stop = json.loads((stopped / "metrics.json").read_text())
    m_cut = json.loads((cut / "metrics.json").read_text())
    # the same texts: graded on their last number when generation ended, not when it was cut off
    assert m_stop["accuracy"] == 1.0 and m_stop["truncation_rate"] == 0.0
    assert m_cut["accuracy"] == 0.0 and m_cut["truncation_rate"] == 1.0 and m_cut["n_truncated"] == 2
    assert "| truncated at the token limit | 100.0 (2 / 2) |" in (cut / "report.md").read_text()
    rows = [json.loads(line) for line in (cut / "results.jsonl").read_text().splitlines()]
    assert all(r["finish_reasons"] == ["length"] and r["extracted"] == [None] for r in rows)

    # re-scoring the stored responses keeps their finish reasons, so the verdicts hold
    again = tmp_path / "rescored"
    assert fx.score_stored("gsm8k", data, cut / "responses.jsonl", again, "--fallback") == 0
    m = json.loads((again / "metrics.json").read_text())
    assert m["accuracy"] == 0.0 and m["truncation_rate"] == 1.0


def test_unknown_finish_reasons_report_no_rate(tmp_path):
    data = fx.gsm8k(tmp_path / "test.jsonl")
    resp = fx.write_jsonl(tmp_path / "r.jsonl", [{"id": "0", "responses": ["7"]}, {"id": "1", "responses": ["1234"]}])
    out = tmp_path / "out"
    assert fx.score_stored("gsm8k", data, resp, out) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["truncation_rate"] is None and m["n_finish_known"] == 0
    assert "finish reasons unknown" in (out / "report.md").read_text()


@pytest.mark.parametrize(
    "reasons, msg",
    [(["stop", "length"], "'finish_reasons' must be a list of 1"), ("stop", "'finish_reasons' must be a list of 1")],
)
def test_bad_finish_reasons_in_a_responses_file(tmp_path, capsys, reasons, msg):
    data = fx.gsm8k(tmp_path / "test.jsonl")
    resp = fx.write_jsonl(
        tmp_path / "r.jsonl",
        [{"id": "0", "responses": ["7"], "finish_reasons": reasons}, {"id": "1", "responses": ["1234"]}],
    )
    assert (
        main(
            [
                "eval",
                "--benchmark",
                "gsm8k",
                "--data",
                str(data),
                "--responses",
                str(resp),
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    assert msg in capsys.readouterr().err


def test_a_larger_limit_adds_items_to_a_finished_run(tmp_path):
    data = fx.gsm8k(tmp_path / "test.jsonl")
    out = tmp_path / "out"
    assert _eval(tmp_path, data, out, ScriptedBackend(), "--limit", "1")[0] == 0
    more = ScriptedBackend()
    assert _eval(tmp_path, data, out, more, "--limit", "2")[0] == 0
    assert more.seen == ["1"] and json.loads((out / "metrics.json").read_text())["n_items"] == 2

"""`redstar eval --responses`: scoring stored responses end to end, against metrics computed
here another way (enumeration over subsets, hand-counted votes)."""

import itertools
import json

import eval_fixtures as fx
import pytest

from redstar.cli import main


def _run(*argv):
    return main(["eval", *argv])


def _pass_at_k_enum(labels, k):
    subsets = list(itertools.combinations(labels, k))
    return sum(any(s) for s in subsets) / len(subsets)


def test_scores_stored_responses_with_pass_maj_and_rm(tmp_path, capsys):
    data = fx.math_tree(tmp_path / "MATH")  # Level 5 ids: algebra/10.json (2), algebra/13.json (3),
    resp = fx.write_jsonl(
        tmp_path / "resp.jsonl",
        [  # prealgebra/11.json (\frac{5}{6})
            {
                "id": "algebra/10.json",
                "responses": ["so \\boxed{2}", "\\boxed{3}", "\\boxed{2}", "\\boxed{2.0}", "no idea"],
                "scores": [0.9, 0.1, 0.5, 0.3, 0.2],
            },
            {
                "id": "algebra/13.json",
                "responses": ["\\boxed{-3}", "\\boxed{-3}", "\\boxed{3}", "\\boxed{x=3}", "\\boxed{3}"],
                "scores": [0.8, 0.7, 0.1, 0.2, 0.3],
            },
            # exact strings: '1' wins 2-1-1-1; as equivalent answers 5/6 wins 3-2
            {
                "id": "prealgebra/11.json",
                "responses": [
                    "\\boxed{1}",
                    "\\boxed{\\frac{5}{6}}",
                    "\\boxed{5/6}",
                    "\\boxed{\\dfrac{5}{6}}",
                    "\\boxed{1}",
                ],
                "scores": [0.0, 0.4, 0.6, 0.2, 0.9],
            },
            {"id": "unrelated", "responses": ["x"]},
        ],
    )
    out = tmp_path / "out"
    assert fx.score_stored("math-hard", data, resp, out, "--rm-seeds", "2000") == 0
    m = json.loads((out / "metrics.json").read_text())
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    labels = {r["id"]: r["correct"] for r in rows}
    assert labels == {
        "algebra/10.json": [True, False, True, True, False],
        "algebra/13.json": [False, False, True, True, True],
        "prealgebra/11.json": [False, True, True, True, False],
    }
    assert (m["n_items"], m["n_samples"], m["n_filtered"]) == (3, 5, 1)
    assert m["accuracy"] == pytest.approx((3 + 3 + 3) / 15)
    assert m["n_correct"] == pytest.approx(9 / 5)
    for k in (2, 4):
        ref = sum(_pass_at_k_enum(v, k) for v in labels.values()) / 3
        assert m[f"pass@{k}"] == pytest.approx(ref)
    # maj@5: '2' (x3 with 2.0) right; '3' x3 (with x=3) beats '-3' x2: right; 5/6 x3 beats 1 x2: right
    assert m["maj@5"] == pytest.approx(1.0)
    # maj@2: first two: [2, 3] tie -> first (right); [-3, -3] wrong; [1, 5/6] tie -> first (wrong)
    assert m["maj@2"] == pytest.approx(1 / 3)
    # rm@5 always picks the top score: 0.9 (right), 0.8 (wrong), 0.9 (wrong)
    assert m["rm@5"] == pytest.approx(1 / 3)
    assert m["rm@2"] == pytest.approx(rm_exact(rows, 2), abs=0.02)
    assert m["by_category"]["Algebra"] == {"n": 2, "accuracy": pytest.approx(0.6)}
    report = (out / "report.md").read_text()
    assert "| maj@5 | 100.0 |" in report and (out / "accuracy_by_category.png").stat().st_size > 1000
    assert (out / "accuracy_by_length.png").is_file()
    assert "1 response rows match no item" in capsys.readouterr().err


def rm_exact(rows, k):
    """Average over all k-subsets of the best-scored response's correctness."""
    vals = []
    for r in rows:
        subs = list(itertools.combinations(range(len(r["scores"])), k))
        vals.append(sum(r["correct"][max(s, key=lambda i: r["scores"][i])] for s in subs) / len(subs))
    return sum(vals) / len(vals)


def test_choice_benchmark_scoring_and_compare(tmp_path, capsys):
    data = fx.geoqa(tmp_path / "geoqa")
    resp = fx.write_jsonl(
        tmp_path / "r.jsonl",
        [{"id": 0, "responses": ["The angle is 140°, so \\boxed{D}"]}, {"id": 1, "responses": ["Answer: B"]}],
    )
    assert fx.score_stored("geoqa", data, resp, tmp_path / "a") == 0
    m = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert m["accuracy"] == pytest.approx(0.5) and m["by_category"] == {
        "angle": {"n": 1, "accuracy": 1.0},
        "length": {"n": 1, "accuracy": 0.0},
    }
    resp2 = fx.write_jsonl(
        tmp_path / "r2.jsonl", [{"id": 0, "responses": ["\\boxed{D}"]}, {"id": 1, "responses": ["\\boxed{A}"]}]
    )
    assert fx.score_stored("geoqa", data, resp2, tmp_path / "b") == 0
    capsys.readouterr()
    assert _run("--compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "lb")) == 0
    table = capsys.readouterr().out
    assert "| run | model | base | revision | benchmark | protocol | decoding | items | pass@1 |" in table
    rows = [line for line in table.splitlines() if line.startswith(("| a ", "| b "))]  # one row per run, best first
    assert rows[0].startswith(f"| b | responses: {resp2} |") and rows[0].endswith("| 100.0 |")
    assert rows[1].startswith(f"| a | responses: {resp} |") and rows[1].endswith("| 50.0 |")
    assert (tmp_path / "lb" / "leaderboard.md").read_text() == table


def test_missing_responses_and_bad_arguments(tmp_path, capsys):
    data = fx.gsm8k(tmp_path / "gsm.jsonl")
    resp = fx.write_jsonl(tmp_path / "r.jsonl", [{"id": "0", "responses": ["\\boxed{7}"]}])
    assert (
        _run("--benchmark", "gsm8k", "--data", str(data), "--responses", str(resp), "--out", str(tmp_path / "o")) == 2
    )
    err = capsys.readouterr().err
    assert "no responses for 1 of 2 items (first ids: 1)" in err and "r.jsonl" in err
    assert _run("--benchmark", "gsm8k", "--data", str(data), "--out", str(tmp_path / "o")) == 2
    assert "give --model" in capsys.readouterr().err
    assert _run("--compare", str(tmp_path)) == 2
    assert "no metrics.json" in capsys.readouterr().err
    empty = fx.write_jsonl(tmp_path / "empty.jsonl", [{"question": "q", "answer": "no marker"}])
    assert (
        _run("--benchmark", "gsm8k", "--data", str(empty), "--responses", str(resp), "--out", str(tmp_path / "o")) == 2
    )
    assert "no usable gsm8k items" in capsys.readouterr().err


def test_vllm_backend_without_vllm_is_a_clear_error(tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "vllm", None)  # import vllm -> ImportError, as on a machine without it
    data = fx.gsm8k(tmp_path / "gsm.jsonl")
    assert (
        _run(
            "--benchmark",
            "gsm8k",
            "--data",
            str(data),
            "--model",
            "default",
            "--backend",
            "vllm",
            "--out",
            str(tmp_path / "o"),
        )
        == 2
    )
    assert "pip install 'redstar[vllm]'" in capsys.readouterr().err


def test_mathvista_float_answers_are_rounded_to_precision_and_fallback_is_switchable(tmp_path):
    """Official MathVista scoring: str(round(float(prediction), precision)) against the gold.
    Gold 1.41 at precision 2: 1.414 is right, 1.42 is not; pid 2 is gold 2.5 at precision 1."""
    root = tmp_path / "mv"
    data = fx.mathvista_json(root)
    rows = json.loads(data.read_text())
    rows["5"] = dict(rows["2"], pid="5", answer="1.41", precision=2.0, image="images/2.jpg")
    data.write_text(json.dumps(rows))
    resp = fx.write_jsonl(
        tmp_path / "resp.jsonl",
        [
            {"id": "1", "responses": ["\\boxed{B}", "\\boxed{B}", "\\boxed{B}", "\\boxed{B}"]},
            {"id": "2", "responses": ["\\boxed{2.54}", "\\boxed{2.46}", "\\boxed{2.6}", "\\boxed{\\frac{5}{2}}"]},
            {
                "id": "5",
                "responses": [
                    "\\boxed{1.414}",
                    "\\boxed{1.42}",
                    "Working: 2 - 0.5858 gives 1.4142",
                    "\\boxed{\\sqrt{2}}",
                ],
            },
        ],
    )
    out = tmp_path / "out"
    assert fx.score_stored("mathvista-geo", data, resp, out, "--samples", "4", "--fallback") == 0
    got = {r["id"]: r["correct"] for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())}
    # round(x, p) computed here for the plain numbers; sqrt(2) is no plain number and is graded as is
    want5 = [round(1.414, 2) == 1.41, round(1.42, 2) == 1.41, round(1.4142, 2) == 1.41, False]
    assert got["2"] == [round(2.54, 1) == 2.5, round(2.46, 1) == 2.5, False, True]
    assert got["5"] == want5 == [True, False, True, False]
    assert json.loads((out / "metrics.json").read_text())["answer_fallback"] is True

    strict = tmp_path / "strict"
    assert fx.score_stored("mathvista-geo", data, resp, strict, "--samples", "4") == 0  # the default
    got = {r["id"]: r["correct"] for r in map(json.loads, (strict / "results.jsonl").read_text().splitlines())}
    assert got["5"] == [True, False, False, False]  # no stated answer: no credit without the fallback
    assert json.loads((strict / "metrics.json").read_text())["answer_fallback"] is False

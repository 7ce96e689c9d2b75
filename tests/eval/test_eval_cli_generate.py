"""`redstar eval --model ...` end to end on CPU with the transformers backend: the embedded
SmolLM2 default on the text benchmarks, a tiny Qwen2-VL saved to disk on the image ones
(1-2 items each, a few new tokens, so it runs in seconds)."""

import json

import eval_fixtures as fx
import pytest

from redstar.cli import main
from redstar.models import tiny_vl_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _eval(tmp_path, bench, data, model, *extra):
    out = tmp_path / f"out-{bench}"
    rc = main(
        [
            "eval",
            "--benchmark",
            bench,
            "--data",
            str(data),
            "--model",
            str(model),
            "--backend",
            "hf",
            "--max-new-tokens",
            "8",
            "--limit",
            "2",
            "--workers",
            "1",
            "--out",
            str(out),
            *extra,
        ]
    )
    assert rc == 0
    return out, json.loads((out / "metrics.json").read_text())


def _rescore_matches(tmp_path, bench, data, out, metrics, *extra):
    """The saved responses.jsonl scores to the same metrics without the model."""
    again = tmp_path / f"rescore-{bench}"
    assert fx.score_stored(bench, data, out / "responses.jsonl", again, "--limit", "2", *extra) == 0
    m2 = json.loads((again / "metrics.json").read_text())
    for key in ("accuracy", "n_items", "n_samples", "no_answer_rate", "truncation_rate"):
        assert m2[key] == metrics[key]


@pytest.mark.parametrize(
    "bench, writer",
    [
        ("math-hard", lambda p: fx.math_tree(p)),
        ("math500", lambda p: fx.math500(p / "test.jsonl")),
        ("aime24", lambda p: fx.aime24_h4(p / "aime.jsonl")),
        ("aime25", lambda p: fx.aime25(p)),
        ("gsm8k", lambda p: fx.gsm8k(p / "test.jsonl")),
    ],
)
def test_text_benchmarks_on_default_model(tmp_path, bench, writer):
    data = writer(tmp_path)
    out, m = _eval(tmp_path, bench, data, "default", "--system", "redstar")
    assert m["benchmark"] == bench and m["n_items"] == 2 and m["n_samples"] == 1 and m["backend"] == "hf"
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(len(r["responses"]) == 1 and len(r["correct"]) == 1 for r in rows)
    # the accuracy is what grading the stored responses again gives (a value fixed before the
    # metric is read, not only a number in [0, 1])
    from redstar.verify import grade

    # a response cut at the token limit is graded without the last-number fallback
    regraded = [
        grade(
            r["responses"][0],
            r["gold"],
            kind=r["kind"],
            choices=r["choices"],
            fallback=r["finish_reasons"][0] != "length",
        ).correct
        for r in rows
    ]
    assert all(f in ("stop", "length") for r in rows for f in r["finish_reasons"])
    assert m["truncation_rate"] == sum(r["finish_reasons"][0] == "length" for r in rows) / 2
    assert [r["correct"][0] for r in rows] == regraded
    assert m["accuracy"] == pytest.approx(sum(regraded) / 2)
    system, user = rows[0]["prompt"]
    assert system["content"].endswith("You should think step-by-step.")
    assert "\\boxed{}" in user["content"]
    assert (out / "report.md").read_text().startswith(f"# {bench}")
    _rescore_matches(tmp_path, bench, data, out, m)


def test_sampling_reports_pass_and_maj(tmp_path):
    data = fx.gsm8k(tmp_path / "test.jsonl")
    _, m = _eval(tmp_path, "gsm8k", data, "default", "--samples", "2", "--temperature", "0.8")
    assert m["n_samples"] == 2 and {"pass@1", "pass@2", "maj@2"} <= set(m)
    assert m["generation"]["temperature"] == 0.8 and m["generation"]["top_p"] == 0.95


@pytest.fixture(scope="module")
def tiny_vl_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("vl") / "tiny-qwen2-vl"
    model, proc = tiny_vl_model("qwen2_vl")
    model.save_pretrained(d)
    proc.save_pretrained(d)
    return d


@pytest.mark.parametrize(
    "bench, writer, extra",
    [
        ("geoqa", lambda p: fx.geoqa(p), ()),
        ("mathvista-geo", lambda p: fx.mathvista_json(p), ("--subset", "skill")),
        ("mathvista-geo", lambda p: fx.mathvista_parquet(p / "testmini.parquet"), ()),
        ("geometry3k", lambda p: fx.geometry3k(p), ()),
    ],
)
def test_image_benchmarks_on_tiny_vl_model(tmp_path, tiny_vl_dir, bench, writer, extra):
    data = writer(tmp_path)
    out, m = _eval(tmp_path, bench, data, tiny_vl_dir, *extra)
    assert m["n_items"] == 2 and m["n_samples"] == 1
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert all(r["images"] for r in rows)
    if bench == "mathvista-geo":
        assert m["subset"].startswith(extra[1] if extra else "task")
        assert rows[0]["kind"] == "choice" and "A: 2" in rows[0]["prompt"][-1]["content"]
    _rescore_matches(tmp_path, bench, data, out, m, *extra)


def test_image_benchmark_on_text_model_is_a_clear_error(tmp_path, capsys):
    data = fx.geoqa(tmp_path)
    rc = main(
        [
            "eval",
            "--benchmark",
            "geoqa",
            "--data",
            str(data),
            "--model",
            "default",
            "--backend",
            "hf",
            "--max-new-tokens",
            "4",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert rc == 2
    assert "has images but the model has no image processor" in capsys.readouterr().err

"""The reduced demo end to end: curation, SFT, DPO, the synthetic and geometry legs,
evaluation and report. The run is the session's shared ``quick_demo`` (tests/conftest.py), which
the README examples test reads too."""

import json

import pytest

from redstar_demo.demo import SYNTHETIC_ROWS


@pytest.mark.integration
def test_demo_quick_end_to_end(quick_demo):
    out, report = quick_demo.out, quick_demo.report
    # every leg left its artefacts where the report says
    for path in (
        "curate/sft.jsonl",
        "curate/preferences.jsonl",
        "curate/funnel.json",
        "sft/final/config.json",
        "dpo/final/config.json",
        "synthetic/curate/sft.jsonl",
        "synthetic/sft/final/config.json",
        "geo_sft/final/config.json",
        "before_after.png",
    ):
        assert (out / path).exists(), path
    table = {r["benchmark"]: r for r in json.loads((out / "before_after.json").read_text())["rows"]}
    assert list(table) == ["math-hard", "aime24", "synthetic-easy", "synthetic-hard", "geoqa", "mathvista-geo"]
    for bench, row in table.items():
        synthetic = bench.startswith("synthetic")
        n = 100 if synthetic else 3  # the synthetic sets are scored whole, the others on 3 items
        shown = []
        for label in ("base", "trained"):
            run = out / "eval" / label / bench
            metrics = json.loads((run / "metrics.json").read_text())
            # the synthetic sets are MATH rows, scored in that format
            assert metrics["benchmark"] == ("math500" if synthetic else bench) and metrics["n_items"] == n
            # the accuracy is the share of graded responses in results.jsonl, to the digit
            rows = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
            per_item = [sum(r["correct"]) / len(r["correct"]) for r in rows]
            assert len(rows) == n and metrics["accuracy"] == pytest.approx(sum(per_item) / n)
            assert row[label] == metrics["accuracy"]
            shown.append(f"{100 * metrics['accuracy']:.1f}%")
        assert f"| {bench} | {n} | {shown[0]} | {shown[1]} |" in report, bench
        assert row["n_items"] == n and row["gain"] == pytest.approx(row["trained"] - row["base"])
        assert row["ci_low"] <= row["gain"] <= row["ci_high"]
    # the synthetic leg shows learning even in the fast path: the tiny model trained from scratch
    # beats its random start on the held-out easy chains, with a 95% interval above 0
    easy = table["synthetic-easy"]
    assert easy["excludes_zero"] and easy["ci_low"] > 0, easy
    trained = out / "synthetic" / "sft" / "data_stats.json"
    assert json.loads(trained.read_text())["used"] == SYNTHETIC_ROWS[True]
    funnel = json.loads((out / "curate" / "funnel.json").read_text())
    assert funnel["funnel"]["load"]["in"] == 7  # 6 math + 1 code problems in the quick run
    # each step can be run alone: the report lists the commands
    assert "redstar curate data_recipes/recipes/demo.yaml" in report and "redstar dpo configs/dpo_demo.yaml" in report
    assert "OMP_NUM_THREADS=1 redstar sft configs/sft_synthetic_tiny.yaml" in report
    # a second run finds every step done and only rewrites the report
    assert quick_demo.rerun_stdout.count("finished earlier with the same command and inputs") == 19
    assert "finished by an earlier run" in quick_demo.rerun_report
    assert "total: 0 s" not in quick_demo.rerun_report  # the steps' times are kept

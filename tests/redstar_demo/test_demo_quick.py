"""The reduced demo end to end: curation, SFT, DPO, the geometry leg, evaluation and report."""

import json

import pytest

from redstar.cli import main


@pytest.mark.integration
def test_demo_quick_end_to_end(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    report = (out / "report.md").read_text()
    # every leg left its artefacts where the report says
    for path in (
        "curate/sft.jsonl",
        "curate/preferences.jsonl",
        "curate/funnel.json",
        "sft/final/config.json",
        "dpo/final/config.json",
        "geo_sft/final/config.json",
        "before_after.png",
    ):
        assert (out / path).exists(), path
    for bench in ("math-hard", "aime24", "geoqa", "mathvista-geo"):
        shown = []
        for label in ("base", "trained"):
            run = out / "eval" / label / bench
            metrics = json.loads((run / "metrics.json").read_text())
            assert metrics["benchmark"] == bench and metrics["n_items"] == 3
            # the accuracy is the share of graded responses in results.jsonl, to the digit
            rows = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
            per_item = [sum(r["correct"]) / len(r["correct"]) for r in rows]
            assert len(rows) == 3 and metrics["accuracy"] == pytest.approx(sum(per_item) / 3)
            shown.append(f"{100 * metrics['accuracy']:.1f}%")
        assert f"| {bench} | 3 | {shown[0]} | {shown[1]} |" in report, bench
    funnel = json.loads((out / "curate" / "funnel.json").read_text())
    assert funnel["funnel"]["load"]["in"] == 7  # 6 math + 1 code problems in the quick run
    # each step can be run alone: the report lists the commands
    assert "redstar curate data_recipes/recipes/demo.yaml" in report and "redstar dpo configs/dpo_demo.yaml" in report
    # a second run finds every step done and only rewrites the report
    capsys.readouterr()
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    assert capsys.readouterr().out.count("finished earlier with the same command and inputs") == 13
    assert "finished by an earlier run" in (out / "report.md").read_text()
    assert "total: 0 s" not in (out / "report.md").read_text()  # the steps' times are kept

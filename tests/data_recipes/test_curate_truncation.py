"""A response cut off at max_new_tokens never becomes training data: curation drops samples
whose finish reason is "length" before any check, and the funnel counts them as truncated."""

import json

from redstar.cli import main
from tests.data_recipes.curate_fixtures import math_problems


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_truncated_response_is_dropped_and_counted(world, tmp_path, capsys):
    recipe, paths = world
    probs = math_problems()
    rows = _rows(paths["responses"])
    gold = probs[0]["answer"]
    # m0's first response ran out of tokens after writing the right answer once, mid-check
    cut = f"Multiply the boxes by the count per box: \\boxed{{{gold}}}. Let me double-check: 3 times 7 is"
    for row in rows:
        if row["id"] == "m0":
            row["responses"][0] = cut
            row["finish_reasons"] = ["length"] + ["stop"] * (len(row["responses"]) - 1)
    paths["responses"].write_text("".join(json.dumps(r) + "\n" for r in rows))

    out = tmp_path / "out"
    assert main(["curate", str(recipe), "--out", str(out)]) == 0
    samples = _rows(out / "samples.jsonl")
    (s,) = [s for s in samples if s["response"] == cut]
    assert s["finish_reason"] == "length" and s["drop"] == "truncated"
    assert all(x["finish_reason"] == "stop" for x in samples if x["problem_id"] == "m0" and x is not s)
    funnel = json.loads((out / "funnel.json").read_text())["funnel"]
    assert funnel["truncation"]["dropped"] == {"truncated": 1}
    assert funnel["truncation"]["in"] == len(samples) and funnel["filters"]["in"] == len(samples) - 1
    exported = (out / "sft.jsonl").read_text() + (out / "preferences.jsonl").read_text()
    assert "Let me double-check: 3 times 7 is" not in exported
    assert "truncated" in (out / "report.md").read_text()

    # asked to keep them, the same sample passes the checks and becomes an SFT row
    kept = tmp_path / "kept"
    assert main(["curate", str(recipe), "--out", str(kept), "sampling.drop_truncated=false"]) == 0
    assert "Let me double-check: 3 times 7 is" in (kept / "sft.jsonl").read_text()

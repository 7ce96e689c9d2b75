"""The procedural geometry generator: answers recomputed from the drawn coordinates."""

import json
import math

import pytest

from geo.generator import KINDS, LETTERS, angle_at, generate, main, recompute_answer
from redstar.records import Problem


def test_angle_at_reference():
    assert angle_at((1, 0), (0, 0), (0, 1)) == pytest.approx(90)
    assert angle_at((1, 0), (0, 0), (-1, 1e-12)) == pytest.approx(180)
    assert angle_at((1, 0), (0, 0), (math.cos(1), math.sin(1))) == pytest.approx(math.degrees(1))


def test_answers_match_the_drawing():
    rows, images = generate(120, seed=3)
    assert {r["meta"]["kind"] for r in rows} == set(KINDS)
    for row, img in zip(rows, images):
        Problem.from_row(row)
        measured = recompute_answer(row["meta"])
        letter = row["answer"]
        chosen = row["choices"][LETTERS.index(letter)]
        # the keyed choice is the value measured on the picture (to 0.05 of a degree / unit)
        assert float(chosen.rstrip("°")) == pytest.approx(measured, abs=0.05), row["question"]
        # the other choices are wrong answers, all distinct
        assert len(set(row["choices"])) == 4
        assert sum(abs(float(c.rstrip("°")) - measured) < 0.05 for c in row["choices"]) == 1
        assert f"\\boxed{{{letter}}}" in row["solution"]
        # every labelled point lies on the canvas
        for x, y in row["meta"]["points"].values():
            assert 0 <= x <= img.width and 0 <= y <= img.height


def test_diagram_is_drawn():
    rows, images = generate(6, seed=0)
    for img in images:
        dark = sum(img.convert("L").histogram()[:128])
        assert dark > 300  # lines and labels, not a blank canvas


def test_cli_writes_rows_and_pngs(tmp_path):
    assert main(["--out", str(tmp_path), "--n", "7", "--seed", "1", "--training-rows"]) == 0
    rows = [json.loads(line) for line in (tmp_path / "problems.jsonl").read_text().splitlines()]
    assert len(rows) == 7
    for r in rows:
        assert (tmp_path / r["images"][0]).is_file()
        assert r["domain"] == "geo" and r["answer"] in "ABCD"
    from redstar.dataio import read_rows
    from redstar.records import PreferenceRow, SFTRow

    assert len(list(read_rows(tmp_path / "sft.jsonl", schema=SFTRow))) == 7
    prefs = list(read_rows(tmp_path / "preference.jsonl", schema=PreferenceRow))
    assert len(prefs) == 7
    for p in prefs:
        assert p["chosen"][0]["content"] != p["rejected"][0]["content"]


def test_unknown_kind_is_an_error(tmp_path):
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path), "--kinds", "hexagon"])

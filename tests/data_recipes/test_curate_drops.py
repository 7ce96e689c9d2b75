"""Every drop is counted where the user looks: the terminal, the funnel and the report; a
source whose rows are all dropped, or an empty source, stops the run naming the reason and
the first offending path:line instead of exporting 0 rows."""

import json

from redstar.cli import main


def _recipe(world_dir, recipe, data_name):
    text = recipe.read_text().replace("math.jsonl", data_name)
    new = world_dir / f"recipe_{data_name}.yaml"
    new.write_text(text)
    return new


def test_drops_are_printed_on_the_terminal(world, tmp_path, capsys):
    recipe, _ = world
    assert main(["curate", str(recipe), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    (line,) = [x for x in out.splitlines() if x.startswith("dropped: ")]
    funnel = json.loads((tmp_path / "out" / "funnel.json").read_text())["funnel"]
    assert f"load {funnel['load']['in'] - funnel['load']['out']} (" in line and "malformed row" in line
    assert "dedup 1 (near duplicate 1)" in line and "decontam 1" in line and "filters" in line


def test_a_source_with_every_row_dropped_fails_naming_the_first(world, tmp_path, capsys):
    recipe, paths = world
    bad = paths["dir"] / "all_bad.jsonl"
    bad.write_text('{"id": "x1", "source": "pool"}\n\n{"id": "x2", "question": "What is 2 + 2?", "answer": ""}\n')
    assert main(["curate", str(_recipe(paths["dir"], recipe, "all_bad.jsonl")), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"source 'pool' ({bad}): all 2 rows were dropped at load" in err  # the path the recipe resolved
    assert f"{bad}:1 (id x1)" in err and "question" in err


def test_an_empty_source_fails(world, tmp_path, capsys):
    recipe, paths = world
    (paths["dir"] / "empty.jsonl").write_text("\n")
    assert main(["curate", str(_recipe(paths["dir"], recipe, "empty.jsonl")), "--out", str(tmp_path / "o")]) == 2
    assert f"source 'pool' ({paths['dir'] / 'empty.jsonl'}): no rows" in capsys.readouterr().err

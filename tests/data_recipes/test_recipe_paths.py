"""A recipe is resolved once, when it loads: every path key becomes absolute (relative to the
recipe file, or to the current directory for a command-line override), the prompt files the
stages use are read then, and the stages read the recipe as it is."""

import json
import os
from pathlib import Path

import pytest

from data_recipes.recipe import load_recipe
from redstar.cli import main
from redstar.config import ConfigError, to_dict


def _with(recipe: Path, extra: str) -> Path:
    """The world's recipe with ``extra`` YAML appended (a section it does not set yet)."""
    recipe.write_text(recipe.read_text() + extra)
    return recipe


def test_a_missing_prompt_file_fails_at_load_naming_the_recipe_and_the_key(world):
    recipe, _ = world
    text = recipe.read_text().replace(
        '  system_prompt: "You should think step-by-step."', "  system_prompt_file: prompts/nope.txt"
    )
    recipe.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_recipe(str(recipe))
    msg = str(e.value)
    assert msg.startswith(f"{recipe}: sampling.system_prompt_file: ")
    assert str(recipe.parent / "prompts" / "nope.txt") in msg and "no such file" in msg


def test_prompts_the_stages_use_are_read_at_load_and_unused_ones_are_not(world):
    recipe, paths = world
    (paths["dir"] / "rate.txt").write_text("Rate {question} from 1 to 10.")
    (paths["dir"] / "judge.txt").write_text("Is this right? {response}")
    _with(
        recipe,
        """difficulty: {method: model, prompt_file: rate.txt}
curators:
  enabled: true
  judges: [{name: j, kind: llm, prompt_file: judge.txt}]
""",
    )
    r = load_recipe(str(recipe))
    assert r.difficulty.prompt == "Rate {question} from 1 to 10."
    assert r.curators.judges[0].prompt == "Is this right? {response}"
    assert r.difficulty.prompt_file == str(paths["dir"] / "rate.txt")

    # a judge prompt that is missing is named by its key, with the override that set it
    with pytest.raises(ConfigError, match=r"command line: curators\.judges\.0\.prompt_file: .*gone\.txt: no such"):
        load_recipe(str(recipe), ["curators.judges.0.prompt_file=gone.txt"])
    with pytest.raises(ConfigError, match=r"difficulty\.prompt_file: .*gone\.txt: no such file"):
        load_recipe(str(recipe), ["difficulty.prompt_file=gone.txt"])
    # prompts no stage reads are not required: difficulty by the source's level, curators off
    r = load_recipe(
        str(recipe), ["difficulty.method=field", "difficulty.prompt_file=gone.txt", "curators.enabled=false"]
    )
    assert r.difficulty.prompt is None and r.curators.judges[0].prompt is None


def test_every_path_key_is_absolute_after_load(world):
    recipe, paths = world
    (paths["dir"] / "scores.jsonl").write_text('{"id": "m0#teacher#0", "score": 1.0}\n')
    (paths["dir"] / "tmpl.jinja").write_text("{{ messages }}")
    _with(
        recipe,
        """curators:
  judges: [{name: rm, kind: rm, scores_file: scores.jsonl, backend: {backend: hf, chat_template: tmpl.jinja}}]
""",
    )
    r = load_recipe(str(recipe))
    d = paths["dir"]
    assert r.sources[0].path == str(d / "math.jsonl")
    assert r.decontam.benchmarks[0].path == str(d / "bench.jsonl")
    assert r.sampling.teachers[0].backend.path == str(d / "responses.jsonl")
    assert r.curators.judges[0].scores_file == str(d / "scores.jsonl")
    assert r.curators.judges[0].backend.chat_template == str(d / "tmpl.jinja")
    # names that are not local paths stay as written: a hub dataset id, a built-in model
    r = load_recipe(str(recipe), ["sources.0.path=AI-MO/NuminaMath-CoT"])
    assert r.sources[0].path == "AI-MO/NuminaMath-CoT" and r.sampling.teachers[0].backend.model == "default"
    # a missing local file is reported at its full path beside the recipe, never looked up elsewhere
    r = load_recipe(str(recipe), ["sampling.teachers.0.backend.path=missing.jsonl"])
    assert r.sampling.teachers[0].backend.path == str(Path.cwd() / "missing.jsonl")


def test_shipped_prompts_and_package_data_resolve_to_absolute_paths():
    root = Path(__file__).resolve().parents[2]
    demo = load_recipe(str(root / "data_recipes" / "recipes" / "demo.yaml"))
    assert demo.sampling.system_prompt_file == str(root / "redstar" / "prompts" / "demo_system.txt")
    assert demo.sampling.system_prompt == (root / "redstar" / "prompts" / "demo_system.txt").read_text().strip()
    assert demo.sources[0].path == str(root / "data_recipes" / "data" / "demo_math.jsonl")  # ../data normalised


def test_a_recipe_loaded_from_another_directory_resolves_the_same(world, tmp_path, monkeypatch):
    recipe, _ = world
    elsewhere = tmp_path / "elsewhere" / "deeper"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(recipe.parent)
    here = load_recipe("recipe.yaml")
    monkeypatch.chdir(elsewhere)
    there = load_recipe(os.path.relpath(recipe, elsewhere))
    assert to_dict(here) == to_dict(there)


def test_command_line_paths_are_relative_to_the_current_directory(world, tmp_path, monkeypatch):
    recipe, paths = world
    cwd = tmp_path / "work"
    cwd.mkdir()
    (cwd / "mine.jsonl").write_text((paths["data"]).read_text())
    monkeypatch.chdir(cwd)
    r = load_recipe(str(recipe), ["sources.0.path=mine.jsonl"])
    assert r.sources[0].path == str(cwd / "mine.jsonl")
    assert r.decontam.benchmarks[0].path == str(paths["bench"])  # keys of the file: beside the recipe
    # a whole section set on the command line counts as the command line's
    r = load_recipe(str(recipe), ["sources=[{path: mine.jsonl, name: pool}]"])
    assert r.sources[0].path == str(cwd / "mine.jsonl")


def test_stages_read_the_loaded_recipe_from_any_directory(world, tmp_path, monkeypatch):
    """Load once, then run every stage from a directory where no relative path would be found:
    no stage resolves a path again."""
    import data_recipes.recipe as recipe_module
    from data_recipes.pipeline import run

    recipe, _ = world
    r = load_recipe(str(recipe))
    empty = tmp_path / "empty"
    empty.mkdir()
    with monkeypatch.context() as m:  # while the stages run: no path resolved again, no CWD to lean on
        m.setattr(recipe_module, "resolve_path", lambda *a, **k: pytest.fail("a stage resolved a path again"))
        m.chdir(empty)
        result = run(r, str(tmp_path / "out"))
    assert result["counts"]["sft"] > 0
    # the run's saved recipe names the same files, wherever it is loaded from
    again = load_recipe(str(tmp_path / "out" / "recipe.yaml"))
    assert [s.path for s in again.sources] == [s.path for s in r.sources] == [str(recipe.parent / "math.jsonl")]
    assert again.sampling.teachers[0].backend.path == r.sampling.teachers[0].backend.path


def test_curation_resumes_after_a_change_of_directory(world, tmp_path, monkeypatch):
    recipe, _ = world
    out = tmp_path / "out"
    a, b = tmp_path / "a", tmp_path / "b" / "c"
    a.mkdir()
    b.mkdir(parents=True)
    monkeypatch.chdir(a)
    assert main(["curate", os.path.relpath(recipe, a), "--out", os.path.relpath(out, a), "--prep-only"]) == 0
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "running" and record["key"]["sources.0.path"] == str(recipe.parent / "math.jsonl")
    monkeypatch.chdir(b)
    assert main(["curate", os.path.relpath(recipe, b), "--out", os.path.relpath(out, b)]) == 0  # resumes
    assert json.loads((out / "run.json").read_text())["key_hash"] == record["key_hash"]
    assert (out / "sft.jsonl").stat().st_size > 0


def test_slurm_jobs_run_where_the_overrides_were_given(world, tmp_path, monkeypatch, capsys):
    """The scripts pass the overrides as typed: each job starts in the directory they were typed
    in, so a relative path names the same file in the prep job, the array and the merge."""
    recipe, _ = world
    cwd = tmp_path / "typed_here"
    cwd.mkdir()
    (cwd / "pool.jsonl").write_text((tmp_path / "math.jsonl").read_text())
    monkeypatch.chdir(cwd)
    argv = ["curate", str(recipe), "sources.0.path=pool.jsonl", "--out", "out", "--slurm", "jobs", "--shards", "2"]
    assert main(argv) == 0
    for name in ("prep.sbatch", "array.sbatch", "merge.sbatch"):
        text = (cwd / "jobs" / name).read_text()
        assert f"#SBATCH --chdir={cwd}\n" in text and "sources.0.path=pool.jsonl" in text, name

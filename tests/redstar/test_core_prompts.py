"""One folder of prompts, one loader: every consumer reads the same RedStar system prompt."""

import hashlib
from pathlib import Path

import pytest

from redstar.config import ConfigError
from redstar.prompts import PROMPT_DIR, find_prompt, load_prompt, prompt_names

ROOT = Path(__file__).resolve().parents[2]


def test_each_prompt_ships_once():
    """No prompt file is a copy of another, anywhere in the packages."""
    seen = {}
    for pkg in ("redstar", "geo", "data_recipes", "eval"):
        for path in sorted((ROOT / pkg).rglob("*.txt")):
            digest = hashlib.sha256(path.read_bytes().strip()).hexdigest()
            if digest in seen and "vision_math" not in path.name + seen[digest]:
                pytest.fail(f"{path.relative_to(ROOT)} repeats {seen[digest]}")
            seen.setdefault(digest, str(path.relative_to(ROOT)))
    assert {"redstar_system", "math", "choice", "difficulty", "judge_binary"} <= set(prompt_names())


def test_names_paths_and_older_spellings(tmp_path):
    text = (PROMPT_DIR / "redstar_system.txt").read_text().rstrip("\n")
    for spec in (
        "redstar_system.txt",
        "redstar_system",
        "../prompts/redstar_system.txt",
        "prompts/redstar_system.txt",
        "pkg:prompts/redstar_system.txt",
        "system_redstar",
    ):
        assert load_prompt(spec) == text, spec
    own = tmp_path / "mine.txt"
    own.write_text("Be brief.\n")
    assert load_prompt(own) == "Be brief." and load_prompt("mine.txt", base=tmp_path) == "Be brief."
    assert find_prompt("elsewhere/redstar_system.txt") is None  # a path that is not here is not a name
    with pytest.raises(ConfigError, match="data.system_prompt_file: nope.txt: no such file.*redstar_system"):
        load_prompt("nope.txt", what="data.system_prompt_file")


def test_every_consumer_reads_the_same_system_prompt():
    from data_recipes.recipe import load_recipe
    from data_recipes.sampling import system_prompt as curate_system
    from eval.prompting import system_prompt as eval_system
    from redstar.train.dpo import DPODataConfig, _system_prompt
    from redstar.train.sft import DataConfig, system_prompt

    text = (PROMPT_DIR / "redstar_system.txt").read_text().strip()
    assert system_prompt(DataConfig(system_prompt_file="redstar_system.txt")) == text
    assert _system_prompt(DPODataConfig(system_prompt_file="redstar_system.txt")) == text
    assert eval_system("redstar") == text
    assert eval_system(str(PROMPT_DIR / "demo_system.txt")) == (PROMPT_DIR / "demo_system.txt").read_text().strip()
    assert eval_system("You are a careful solver.") == "You are a careful solver."  # literal text
    assert eval_system("math") == "math"  # a user-message template is not a system prompt
    recipe = load_recipe(str(ROOT / "data_recipes" / "recipes" / "redstar_math.yaml"))
    assert curate_system(recipe) == text
    assert (
        Path(load_recipe(str(ROOT / "data_recipes" / "recipes" / "demo.yaml")).sampling.system_prompt_file).name
        == "demo_system.txt"
    )

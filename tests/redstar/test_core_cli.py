import re
import subprocess
import sys

import pytest

from redstar.cli import main


def _registered():
    from redstar.cli import COMMANDS, _available

    names = list(COMMANDS)
    missing = [n for n in names if not _available(COMMANDS[n].module)]
    assert not missing, f"registered commands whose module does not import: {missing}"
    return names


def _help_argvs():
    """Every registered command."""
    from redstar.cli import COMMANDS

    return [[name] for name in COMMANDS]


def test_help_lists_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    listed = {m.group(1) for m in re.finditer(r"^ {4}(\w+) ", out, re.MULTILINE)}
    names = _registered()
    assert len(names) >= 9
    for name in names:
        assert name in listed, f"'redstar --help' does not list {name!r}"


@pytest.mark.parametrize("argv", _help_argvs(), ids=" ".join)
def test_each_command_help_has_example(argv):
    _registered()
    r = subprocess.run(
        [sys.executable, "-m", "redstar.cli", *argv, "--help"], capture_output=True, text=True, check=False
    )
    assert r.returncode == 0, (argv, r.stderr)
    assert "example" in r.stdout.lower(), f"'redstar {' '.join(argv)} --help' shows no example"


@pytest.mark.parametrize("name", ["sft", "dpo"])
def test_help_documents_text_and_vision_recipes(name):
    """One `redstar sft --help` documents both recipes: each one's schema and example."""
    r = subprocess.run(
        [sys.executable, "-m", "redstar.cli", name, "--help"], capture_output=True, text=True, check=False
    )
    assert r.returncode == 0, r.stderr
    for schema, config in (
        (f"redstar.train.{name}:", f"configs/{name}_tiny_cpu.yaml"),
        (f"geo.{name}:VL", f"configs/geo_{name}_tiny.yaml"),
    ):
        assert schema in r.stdout and f"redstar {name} {config}" in r.stdout, (schema, config)


def test_schema_line_picks_the_recipe(tmp_path):
    from redstar.cli import RECIPES, recipe_module

    assert recipe_module("sft", ["configs/geo_sft_tiny.yaml", "out=x"]) == "geo.sft"
    assert recipe_module("dpo", ["configs/geo_dpo_tiny.yaml"]) == "geo.dpo"
    assert recipe_module("sft", ["configs/sft_tiny_cpu.yaml"]) == "redstar.train.sft"
    plain = tmp_path / "plain.yaml"
    plain.write_text("model: tiny\n")  # no schema line: the text recipe
    assert recipe_module("sft", [str(plain)]) == "redstar.train.sft"
    # another command's schema does not switch the recipe; the loader then names the right command
    assert recipe_module("sft", ["configs/geo_dpo_tiny.yaml"]) == "redstar.train.sft"
    assert {r.module for r in RECIPES.values()} == {"redstar.train.sft", "redstar.train.dpo", "geo.sft", "geo.dpo"}


def test_unknown_command(capsys):
    assert main(["frobnicate"]) == 2
    assert "unknown command" in capsys.readouterr().err

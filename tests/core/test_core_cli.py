import re
import subprocess
import sys

import pytest

from redstar.cli import main


def _registered():
    from redstar.cli import COMMANDS, _available

    names = list(COMMANDS)
    missing = [n for n in names if not _available(COMMANDS[n][0])]
    assert not missing, f"registered commands whose module does not import: {missing}"
    return names


def _help_argvs():
    """Every registered command, and the vision-language variant of those that have one."""
    from redstar.cli import COMMANDS

    argvs = [[name] for name in COMMANDS]
    argvs += [[name, "modality=vision"] for name, (_, vision, *_) in COMMANDS.items() if vision]
    return argvs


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


def test_unknown_command(capsys):
    assert main(["frobnicate"]) == 2
    assert "unknown command" in capsys.readouterr().err

import subprocess
import sys

from redstar.cli import main


def test_help_lists_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("ask", "verify", "eval", "curate", "sft", "demo"):
        if name in ("ask",) or f"  {name}" in out:
            assert name in out


def test_each_command_help_has_example():
    from redstar.cli import COMMANDS, _available

    for name, (module, _, _) in COMMANDS.items():
        if not _available(module):
            continue
        r = subprocess.run([sys.executable, "-m", "redstar.cli", name, "--help"], capture_output=True, text=True)
        assert r.returncode == 0, (name, r.stderr)
        assert "example" in r.stdout.lower(), f"'redstar {name} --help' shows no example"


def test_unknown_command(capsys):
    assert main(["frobnicate"]) == 2
    assert "unknown command" in capsys.readouterr().err

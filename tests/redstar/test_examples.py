"""Every `redstar ...` example in the README and in the --help texts is exact.

Each example is found and checked as far as it can be without a model or earlier outputs:

- ``parse``: the command exists and argparse accepts the arguments; every repository file the
  example names (``configs/...``, ``data_recipes/...``, ...) exists; a curation recipe loads
  with the example's overrides;
- ``print-config``: training commands (sft, dpo, rm train) run with ``--print-config``, which
  loads the config with the example's overrides and checks every key and type;
- ``run``: cheap commands whose inputs ship with the repository run for real (``--dry-run``
  launches, ``redstar configs``, exports of shipped rows) in a scratch directory.

An example whose input is an earlier step's output (``runs/...``) or a placeholder file
(``cases.jsonl``) is parsed, not run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from redstar.cli import COMMANDS, EPILOG, command_parser, main

ROOT = Path(__file__).resolve().parents[2]
REPO_DIRS = ("configs/", "data_recipes/", "launch/", "bench/", "geo/", "eval/", "redstar/")
# run for real where the example's inputs ship with the repository; all of these take seconds
CHEAP = (("configs",), ("rl", "export"), ("rl", "launch"))
OUTPUT_FLAGS = ("--out", "--output", "--slurm")


def _is_synopsis(argv: list[str]) -> bool:
    """'redstar rm score --model DIR ... [--k 1 2 4 8]': placeholders, not an example."""
    return any(re.fullmatch(r"[A-Z][A-Z_]+(\.\w+)?", a) or a.startswith("[") for a in argv)


def _join_continuations(lines: list[str]) -> list[str]:
    out, buf = [], ""
    for line in lines:
        if buf:
            line = buf + " " + line.strip()
            buf = ""
        if line.rstrip().endswith("\\") and not line.rstrip().endswith("\\\\"):
            buf = line.rstrip()[:-1].rstrip()
            continue
        out.append(line)
    return out


def _commands_in(text: str) -> list[str]:
    """``redstar ...`` lines of a help text or a README code block, continuations joined and
    trailing ``# comments`` dropped."""
    found = []
    for line in _join_continuations(text.splitlines()):
        s = line.strip().removeprefix("$ ")
        # example lines stand near the margin; deeper lines continue an option's help text
        if not s.startswith("redstar ") or len(line) - len(line.lstrip()) > 6:
            continue
        if s.split()[1].endswith(":") or s.split()[1].startswith("("):  # a module docstring's title
            continue
        s = re.sub(r"\s+#\s.*$", "", s)
        found.append(s)
    return found


def readme_examples() -> list[tuple[str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    out = []
    for block in re.findall(r"```(?:bash|sh|console)?\n(.*?)```", text, re.DOTALL):
        out += [("README", c) for c in _commands_in(block)]
    for span in re.findall(r"`(redstar [^`\n]+)`", text):  # inline examples in prose
        if "=" in span or ".yaml" in span or ".jsonl" in span:
            out.append(("README inline", span))
    return out


def _help_text(argv: list[str]) -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), pytest.raises(SystemExit):
        main([*argv, "--help"])
    return buf.getvalue()


def _subcommands(argv: list[str]) -> list[str]:
    """Sub-actions of a command (``rm train``, ``rl launch``) read from its usage line."""
    m = re.search(r"\{([\w,+-]+)\}", _help_text(argv))
    return m.group(1).split(",") if m else []


def help_examples() -> list[tuple[str, str]]:
    out = [("redstar --help", c) for c in _commands_in(EPILOG)]
    for name in COMMANDS:  # sft and dpo --help also show the vision-language recipe's examples
        for sub in [None, *_subcommands([name])]:
            full = [name] + ([sub] if sub else [])
            where = "redstar " + " ".join(full) + " --help"
            out += [(where, c) for c in _commands_in(_help_text(full))]
    return out


def _examples() -> list[tuple[str, str]]:
    seen, out = set(), []
    for where, cmd in readme_examples() + help_examples():
        if cmd not in seen:
            seen.add(cmd)
            out.append((where, cmd))
    return out


def _command_parser(name: str, rest: list[str]) -> argparse.ArgumentParser:
    """The parser ``redstar NAME`` builds (the vision-language recipe's for its configs)."""
    return command_parser(name, rest)[0]


def _parse(name: str, rest: list[str]) -> argparse.Namespace:
    parser = _command_parser(name, rest)
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            try:
                return parser.parse_intermixed_args(rest)
            except TypeError:
                return parser.parse_args(rest)
    except SystemExit:
        raise AssertionError(f"argparse refuses it: {err.getvalue().strip()}") from None


def _repo_files(args: list[str]) -> list[str]:
    """Arguments (or override values) that name a file inside the repository."""
    out = []
    for a in args:
        for part in re.split(r"[=\[\],]", a):
            if part.startswith(REPO_DIRS) and "." in Path(part).name:
                out.append(part)
    return out


def _inputs_ship(argv: list[str]) -> bool:
    """Whether every input the example names is in the repository: no earlier step's output
    (runs/... not after --out) and no file that is not here."""
    for i, a in enumerate(argv):
        after_output_flag = i > 0 and argv[i - 1] in OUTPUT_FLAGS
        if a.startswith("runs/") and not after_output_flag or "=runs/" in a:
            return False
        if (
            a.endswith((".jsonl", ".json", ".yaml"))
            and "=" not in a
            and not after_output_flag
            and not (ROOT / a).exists()
        ):
            return False
    return True


def _mode(argv: list[str], args: argparse.Namespace) -> str:
    if (tuple(argv[:1]) in CHEAP or tuple(argv[:2]) in CHEAP) and _inputs_ship(argv):
        return "run"
    if hasattr(args, "print_config"):
        return "print-config"
    return "parse"


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """A working directory with the repository's folders linked in, so relative paths in the
    examples resolve and their outputs (runs/...) land in tmp_path."""
    for name in ("configs", "data_recipes", "launch", "bench", "geo", "eval", "redstar", "tests"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


EXAMPLES = _examples()


def test_examples_were_found():
    where = {w for w, _ in EXAMPLES}
    assert len(EXAMPLES) >= 30 and "README" in where and "redstar --help" in where
    assert any(w == "redstar sft --help" for w in where) and any(
        w.startswith("redstar rm train") or w == "redstar rm --help" for w in where
    )


@pytest.mark.parametrize("where, command", EXAMPLES, ids=[c for _, c in EXAMPLES])
def test_example_is_exact(where, command, scratch, capsys):
    check_example(where, command, capsys)


@pytest.mark.parametrize(
    "command, why",
    [
        ("redstar sft configs/sft.yaml optim.lr=3e-6", "names files the repository does not have"),
        ("redstar sft configs/sft_tiny_cpu.yaml optim.lr=3e-6", "unknown key 'optim"),
        ("redstar dpo configs/dpo_tiny_cpu.yaml dpo.loss_type=kto", "must be one of"),
        ("redstar frobnicate --out runs/x", "no command 'frobnicate'"),
        ("redstar eval --benchmark aime24 --no-such-flag --out runs/e", "unrecognized arguments"),
        ("redstar curate data_recipes/recipes/demo.yaml --out runs/c sampling.nope=1", "unknown key"),
        ("redstar rl launch --algo ppo launch/openrlhf/redstar_ppo.yaml nope=1 --dry-run", "failed"),
    ],
)
def test_an_inexact_example_fails(command, why, scratch, capsys):
    with pytest.raises((AssertionError, Exception), match=re.escape(why)):
        check_example("a bad example", command, capsys)


def check_example(where: str, command: str, capsys) -> None:
    argv = shlex.split(command)[1:]
    name, rest = argv[0], argv[1:]
    assert name in COMMANDS, f"{where}: '{command}': no command {name!r}"
    if _is_synopsis(argv):
        return
    args = _parse(name, rest)
    missing = [f for f in _repo_files(rest) if not (ROOT / f).exists()]
    assert not missing, f"{where}: '{command}' names files the repository does not have: {missing}"
    mode = _mode(argv, args)
    if name == "curate":
        from data_recipes.recipe import load_recipe

        if (ROOT / args.recipe).is_file():
            load_recipe(str(ROOT / args.recipe), list(args.overrides or []))
    if mode == "print-config":
        rc = main([*argv, "--print-config"])
        out = capsys.readouterr()
        assert rc == 0, f"{where}: '{command} --print-config' failed: {out.err.strip()}"
        assert out.out.startswith("# schema: ")
    elif mode == "run":
        extra = ["--dry-run"] if argv[:2] == ["rl", "launch"] and "--dry-run" not in argv else []
        rc = main([*argv, *extra])
        out = capsys.readouterr()
        assert rc == 0, f"{where}: '{command}' failed: {out.err.strip()[-500:]}"


# ----------------------------------------------------------------------------- on the demo's output

# The README examples that run here, verbatim and in README order, after a quick demo wrote
# runs/demo: commands that read the demo's output or shipped files and take seconds to a minute
# on CPU. Every other example is checked by test_example_is_exact only: training, curation and
# sweeps are minutes each (their own tests run them), --slurm writes a job for a cluster, and a
# push without --dry-run needs the hub (the README says it is refused offline).
RUN_AFTER_DEMO = (("ask",), ("eval",), ("card",), ("push",), ("verify",), ("configs",), ("rl", "export"))


def _runs_after_demo(argv: list[str], not_written: tuple[str, ...] = ()) -> str | None:
    """Why the example is not run after the demo, or None when it is. ``not_written``: the
    outputs of the examples not run before it (an example reading one is not run either)."""
    if _is_synopsis(argv):
        return "a synopsis"
    if not any(tuple(argv[: len(k)]) == k for k in RUN_AFTER_DEMO):
        return "trains, curates or launches: minutes on CPU, run by its own tests"
    if argv[0] == "push" and "--dry-run" not in argv:
        return "publishes to the hub"
    for part in (p for a in argv for p in re.split(r"[=\[\],]", a)):
        hit = next((o for o in not_written if part == o or part.startswith(o.rstrip("/") + "/")), None)
        if hit:
            return f"reads {part}, which an example not run here writes"
    return None


def _outputs(argv: list[str]) -> list[str]:
    """The paths an example writes: the values of --out / --output / --slurm and out=."""
    found = [b for a, b in zip(argv, argv[1:]) if a in OUTPUT_FLAGS]
    return found + [a.split("=", 1)[1] for a in argv if a.startswith("out=")]


def _expand(argv: list[str]) -> list[str]:
    """Shell globbing of the arguments, as bash does it (sorted; a pattern matching nothing stays)."""
    import glob

    out = []
    for a in argv:
        matches = sorted(glob.glob(a)) if any(c in a for c in "*?[") else []
        out += matches or [a]
    return out


@pytest.fixture
def after_quick_demo(quick_demo, monkeypatch):
    """The working directory where ``redstar demo --out runs/demo --quick`` has run (the
    session's shared ``quick_demo``, tests/conftest.py), with the repository's folders linked in
    so the examples' relative paths resolve; the test runs in it."""
    monkeypatch.chdir(quick_demo.root)
    return quick_demo.root


@pytest.mark.slow
@pytest.mark.integration
def test_readme_examples_run_on_the_quick_demos_output(after_quick_demo, capsys):
    ran, failed, not_written = [], [], []
    for _, command in readme_examples():
        argv = shlex.split(command)[1:]
        if _runs_after_demo(argv, tuple(not_written)) is not None:
            if argv[0] != "demo":  # the quick demo wrote runs/demo before
                not_written += _outputs(argv)
            continue
        capsys.readouterr()
        rc = main(_expand(argv))
        err = capsys.readouterr().err.strip()
        ran.append(command)
        if rc != 0:
            failed.append(f"'{command}' exited {rc}: {err[-400:]}")
    assert not failed, "README examples that fail after the demo:\n" + "\n".join(failed)
    # the examples that use the demo's output are among them
    for head in ("redstar ask --model runs/demo/", "redstar card runs/demo/dpo --eval", "redstar eval --compare"):
        assert any(c.startswith(head) for c in ran), head
    assert (after_quick_demo / "runs" / "eval" / "mh-official" / "metrics.json").is_file()
    dpo_card = (after_quick_demo / "runs" / "demo" / "dpo" / "final" / "README.md").read_text()
    assert "model-index" in dpo_card and "aime24" in dpo_card


def test_examples_after_the_demo_are_chosen_by_command():
    assert _runs_after_demo(shlex.split("redstar card runs/demo/dpo --eval runs/x")[1:]) is None
    assert _runs_after_demo(shlex.split("redstar push runs/demo/dpo --repo me/x --dry-run")[1:]) is None
    assert _runs_after_demo(shlex.split("redstar push runs/demo/sft --repo me/x")[1:]) == "publishes to the hub"
    assert "minutes" in _runs_after_demo(shlex.split("redstar sft configs/sft_tiny_cpu.yaml")[1:])
    assert _runs_after_demo(shlex.split("redstar curate RECIPE.yaml --out runs/math")[1:]) == "a synopsis"
    # an example reading what a training or curation example writes is not run either
    export = shlex.split("redstar rl export --kind preference --input runs/math/preferences.jsonl --output x")[1:]
    assert (
        _runs_after_demo(export, ("runs/math",))
        == "reads runs/math/preferences.jsonl, which an example not run here writes"
    )
    assert _runs_after_demo(export, ("runs/mat",)) is None
    assert _outputs(shlex.split("redstar sft c.yaml out=runs/sft_tiny --out runs/o")[1:]) == ["runs/o", "runs/sft_tiny"]


def test_globs_expand_as_the_shell_does(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("b", "a", "c.txt"):
        (tmp_path / "d" / name).mkdir(parents=True)
    assert _expand(["card", "x", "--eval", "d/*", "e/*"]) == ["card", "x", "--eval", "d/a", "d/b", "d/c.txt", "e/*"]

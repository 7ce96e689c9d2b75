"""Fixtures of the release tests; the runs they build are made in release_fixtures.py."""

from pathlib import Path

import pytest

from tests.redstar.release.release_fixtures import DEMO_DATA, build_run, run_eval


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """OUT of a demo run: dpo/ (the trained model) and eval/{base,trained}/{math-hard,aime24}."""
    out = tmp_path_factory.mktemp("demo") / "demo"
    build_run(out / "dpo")
    run_eval(out / "eval" / "trained" / "math-hard", "math-hard", DEMO_DATA / "math_hard.jsonl", [True, False, True])
    run_eval(out / "eval" / "trained" / "aime24", "aime24", DEMO_DATA / "aime24.jsonl", [False, True, False, False])
    run_eval(out / "eval" / "base" / "math-hard", "math-hard", DEMO_DATA / "math_hard.jsonl", [False, False, True])
    return out

"""Fixtures of the reward-model tests; the task is made in rm_fixtures.py."""

import pytest

from tests.redstar.rm.rm_fixtures import synthetic_task


@pytest.fixture
def task_files(tmp_path):
    from redstar.dataio import write_jsonl

    problems, samples = synthetic_task(32)
    write_jsonl(tmp_path / "problems.jsonl", problems)
    write_jsonl(tmp_path / "samples.jsonl", samples)
    return tmp_path / "problems.jsonl", tmp_path / "samples.jsonl"

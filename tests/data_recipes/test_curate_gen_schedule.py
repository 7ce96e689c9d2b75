"""The generation-schedule simulation (bench/bench_gen_schedule.py): its engine model and the
two schedules on cases small enough to work out by hand."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gs():
    spec = importlib.util.spec_from_file_location("bench_gen_schedule", ROOT / "bench" / "bench_gen_schedule.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_continuous_batching_refills_freed_slots(gs):
    assert gs.continuous([5, 5, 5], 2) == 10  # the third starts when a slot frees at 5
    assert gs.continuous([10, 1, 1, 1], 2) == 10  # short ones cycle through the second slot
    assert gs.continuous([], 4) == 0 and gs.continuous([7], 4) == 7


def test_blocking_calls_wait_for_their_longest_sample(gs):
    # 64 prompts of one sample each: two calls of 32; each call as long as its longest (100)
    prompts = [[100 if i % 32 == 0 else 10] for i in range(64)]
    assert gs.old_schedule(prompts, slots=64) == 200
    assert gs.new_schedule(prompts, slots=64, engines=1) == 100  # one call: the long ones overlap
    assert gs.new_schedule(prompts, slots=64, engines=2) == 100  # each engine gets one long sample


def test_samples_per_prompt_follow_the_recipe(gs):
    assert [gs.n_for(level) for level in (3, 6, 7, 8, 9)] == [10, 10, 12, 14, 16]


def test_report_is_written(gs, tmp_path):
    out = tmp_path / "r.md"
    assert gs.main(["--prompts", "64", "--repeats", "1", "--out", str(out)]) == 0
    text = out.read_text()
    assert "| old (blocking batches of 32) |" in text and "sooner with the new schedule" in text

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


def test_shipped_lengths_load_by_model_and_prompt(gs):
    r1 = gs.load_lengths(ROOT / gs.DEFAULT_LENGTHS)  # the DeepSeek-R1 family by default
    assert len(r1) == 6 and all(len(v) == 15 for v in r1.values())  # 3 models x 5 runs a prompt
    assert sorted(v for g in r1.values() for v in g)[45] == 3648  # the data, not a fitted shape
    assert sum(map(len, gs.load_lengths(ROOT / gs.DEFAULT_LENGTHS, "open").values())) == 393
    assert sum(map(len, gs.load_lengths(ROOT / gs.DEFAULT_LENGTHS, "all").values())) == 693
    one = gs.load_lengths(ROOT / gs.DEFAULT_LENGTHS, "deepseek-r1")
    assert sorted(one["AIME2023II_P1"]) == [1280, 1353, 1479, 2800, 2999]


def test_jsonl_lengths_pool_without_a_prompt(gs, tmp_path):
    path = tmp_path / "lens.jsonl"
    path.write_text('{"tokens": 5}\n7\n\n{"tokens": 9, "prompt": "p"}\n')
    assert gs.load_lengths(path) == {"": [5, 7], "p": [9]}


def test_replay_draws_a_prompts_samples_from_one_source_prompt(gs):
    import random

    sample = gs.replay_draw({"easy": [1, 2, 3], "hard": [1000, 2000, 99_999]})(random.Random(0))
    draws = [sample(12) for _ in range(200)]
    assert all(set(d) <= {1, 2, 3} or set(d) <= {1000, 2000, gs.MAX_NEW} for d in draws)  # never mixed
    kinds = {max(d) > 3 for d in draws}
    assert kinds == {True, False}  # both source prompts are drawn
    assert any(gs.MAX_NEW in d for d in draws)  # capped at max_new_tokens


def test_report_names_the_length_source(gs, tmp_path):
    out = tmp_path / "r.md"
    assert gs.main(["--prompts", "64", "--repeats", "1", "--out", str(out)]) == 0
    assert "cpldcpu/LRMTokenEconomy" in out.read_text() and "90 responses to 6 prompts" in out.read_text()
    assert gs.main(["--prompts", "64", "--repeats", "1", "--lognormal", "--out", str(out)]) == 0
    assert "log-normal (assumed)" in out.read_text()

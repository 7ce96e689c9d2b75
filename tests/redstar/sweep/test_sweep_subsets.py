"""Subsets: nested, deterministic, hard and random of equal size, written once with a manifest."""

import json
from pathlib import Path

import pytest

from redstar.config import ConfigError
from redstar.sweep.subsets import (
    TokenCounter,
    load_pool,
    ordering,
    subset_indices,
    write_subset,
)

DEMO = Path(__file__).resolve().parents[3] / "redstar" / "sweep" / "data" / "demo_sft.jsonl"


def _sft(i: int, level=None, extra: str = "") -> dict:
    row = {
        "messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"answer {i}{extra}"}],
        "images": [],
    }
    if level is not None:
        row["difficulty"] = level
    return row


def _write(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize("kind", ["random", "hardest"])
def test_subsets_are_nested_and_deterministic(kind):
    pool = load_pool(str(DEMO))
    for seed in (0, 1):
        prev: set[int] = set()
        for size in (4, 8, 16, 32):
            idx = subset_indices(pool, kind, size, seed)
            assert len(idx) == len(set(idx)) == size
            assert prev <= set(idx), f"{kind} n={size} does not contain the smaller subset"
            prev = set(idx)
            assert idx == subset_indices(load_pool(str(DEMO)), kind, size, seed)  # a fresh read, same rows
    assert subset_indices(pool, "random", 8, 0) != subset_indices(pool, "random", 8, 1)  # the seed matters


def test_hardest_takes_the_highest_difficulty_first_and_matches_random_in_size():
    pool = load_pool(str(DEMO))
    levels = sorted((d for d in pool.difficulty), reverse=True)
    for size in (4, 8, 16):
        hard = subset_indices(pool, "hardest", size, 0)
        rand = subset_indices(pool, "random", size, 0)
        assert len(hard) == len(rand) == size
        assert sorted((pool.difficulty[i] for i in hard), reverse=True) == levels[:size]
    # 6 rows of level 3 in the demo file: the 4-row hardest subset is all level 3, random is not
    assert {pool.difficulty[i] for i in subset_indices(pool, "hardest", 4, 0)} == {3.0}


def test_hardest_without_any_difficulty_is_a_clear_error(tmp_path):
    pool = load_pool(str(_write(tmp_path / "sft.jsonl", [_sft(i) for i in range(5)])))
    with pytest.raises(ConfigError, match="needs a difficulty"):
        ordering(pool, "hardest", 0)
    with pytest.raises(ConfigError, match="unknown subset kind 'core'"):
        ordering(pool, "core", 0)
    with pytest.raises(ConfigError, match="fewer than size 9"):
        subset_indices(pool, "random", 9, 0)


def test_curation_output_difficulty_from_samples_and_named_subsets(tmp_path):
    cur = tmp_path / "curate"
    rows = [_sft(i) for i in range(10)]
    _write(cur / "sft.jsonl", rows)
    # samples.jsonl carries each sample's prompt level; the SFT row's target is the sample's response
    _write(
        cur / "samples.jsonl",
        [
            {"problem_id": f"p{i}", "response": f"answer {i}", "level": i % 4, "verdict": {"correct": True}}
            for i in range(10)
        ],
    )
    _write(cur / "subsets" / "hard.jsonl", [rows[3], rows[7]])
    pool = load_pool(str(cur))
    assert pool.difficulty == [float(i % 4) for i in range(10)]
    assert sorted(pool.named["hard"]) == [3, 7]
    assert {pool.difficulty[i] for i in subset_indices(pool, "hardest", 2, 0)} == {3.0}
    assert subset_indices(pool, "hard", 2, 5) == [3, 7]
    assert subset_indices(pool, "hard", 1, 0)[0] in (3, 7)
    # a subset row that sft.jsonl does not hold names the file and line
    _write(cur / "subsets" / "hard.jsonl", [rows[3], _sft(99)])
    with pytest.raises(ConfigError, match=r"hard.jsonl:2: row is not in"):
        load_pool(str(cur))


def test_bad_row_names_file_and_line(tmp_path):
    path = _write(tmp_path / "sft.jsonl", [_sft(0), {"messages": [{"role": "user", "content": "q"}]}])
    with pytest.raises(Exception, match=r"sft.jsonl:2"):
        load_pool(str(path))


def test_written_once_with_manifest_and_other_inputs_refused(tmp_path):
    src = _write(tmp_path / "sft.jsonl", [_sft(i, level=i % 3) for i in range(12)])
    pool = load_pool(str(src))
    out = tmp_path / "data"
    path = write_subset(pool, "hardest", 4, 0, out, TokenCounter())
    man = json.loads((out / "hardest-n4-s0.manifest.json").read_text())
    written = [json.loads(line) for line in path.read_text().splitlines()]
    assert written == [pool.rows[i] for i in subset_indices(pool, "hardest", 4, 0)]
    assert man["rows"] == 4 and man["size"] == 4 and man["seed"] == 0 and man["kind"] == "hardest"
    assert man["source"] == str(src) and man["prompts"] == 4
    assert man["tokens"] == sum((len(r["messages"][-1]["content"]) + 3) // 4 for r in written)
    assert man["difficulty"]["min"] == man["difficulty"]["max"] == 2.0
    mtime = path.stat().st_mtime_ns
    write_subset(load_pool(str(src)), "hardest", 4, 0, out, TokenCounter())  # same inputs: kept
    assert path.stat().st_mtime_ns == mtime
    _write(src, [_sft(i, level=i % 3, extra="!") for i in range(12)])  # the source changed
    with pytest.raises(ConfigError, match="drawn from other inputs"):
        write_subset(load_pool(str(src)), "hardest", 4, 0, out, TokenCounter())

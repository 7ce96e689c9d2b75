"""Training groups from verified Sample rows: balance, drops, score-sorted picks, collation."""

import pytest
import torch

from redstar.models import tiny_tokenizer
from redstar.records import RowError
from redstar.rm.data import (
    GroupCollator,
    GroupStats,
    PairEncoder,
    balanced_split,
    build_groups,
)


def _sample(pid, i, correct, ref=None):
    row = {
        "problem_id": pid,
        "response": f"{pid} answer {i}",
        "model": "m",
        "verdict": {"correct": correct, "extracted": str(i), "reason": "match" if correct else "mismatch"},
        "filters": {},
        "scores": {},
    }
    if ref is not None:
        row["scores"]["ref"] = ref
    return row


def test_balanced_split_by_hand():
    assert balanced_split(10, 10, 6) == (3, 3)
    assert balanced_split(10, 1, 6) == (5, 1)  # negatives short: fill with positives
    assert balanced_split(1, 10, 6) == (1, 5)
    assert balanced_split(2, 1, 6) == (2, 1)  # fewer than n responses: take all
    assert balanced_split(10, 10, 5) in ((2, 3), (3, 2))


def test_groups_balanced_and_one_sided_problems_dropped():
    rows = (
        [_sample("p1", i, i < 8) for i in range(12)]  # 8 correct, 4 wrong
        + [_sample("p2", i, True) for i in range(5)]  # all correct
        + [_sample("p3", i, False) for i in range(5)]  # all wrong
        + [_sample("p4", 0, True), _sample("p4", 1, False), _sample("p4", 1, False)]  # duplicate
        + [dict(_sample("p5", 0, True), verdict=None)]
    )  # not verified
    questions = {f"p{i}": f"question {i}" for i in range(1, 6)}
    stats = GroupStats()
    groups = build_groups(rows, questions, n=6, seed=0, stats=stats)
    by_id = {g.problem_id: g for g in groups}
    assert sorted(by_id) == ["p1", "p4"]
    assert sum(by_id["p1"].labels) == 3 and len(by_id["p1"].labels) == 6
    assert by_id["p4"].labels.count(True) == 1 and len(by_id["p4"].labels) == 2
    assert (stats.dropped_all_correct, stats.dropped_all_wrong, stats.duplicates, stats.skipped_no_verdict) == (
        1,
        1,
        1,
        1,
    )
    assert by_id["p1"].question == "question 1"
    # each picked response keeps its own label
    truth = {r["response"]: r["verdict"]["correct"] for r in rows if r.get("verdict")}
    for g in groups:
        assert all(truth[r] == lab for r, lab in zip(g.responses, g.labels))
    # the seed changes the pick, not the balance
    other = {g.problem_id: g for g in build_groups(rows, questions, n=6, seed=1)}
    assert sum(other["p1"].labels) == 3
    picks = {
        frozenset(g.responses)
        for s in range(6)
        for g in build_groups(rows, questions, n=6, seed=s)
        if g.problem_id == "p1"
    }
    assert len(picks) > 1


def test_score_sorted_takes_top_positives_and_bottom_negatives():
    rows = [_sample("p", i, i < 5, ref=float(i)) for i in range(10)]  # correct: ref 0..4, wrong: 5..9
    (g,) = build_groups(rows, {"p": "q"}, n=4, sort_by="ref", sort_pool=0)
    picked = {r: lab for r, lab in zip(g.responses, g.labels)}
    assert {r for r, lab in picked.items() if lab} == {"p answer 4", "p answer 3"}
    assert {r for r, lab in picked.items() if not lab} == {"p answer 5", "p answer 6"}
    (g,) = build_groups(rows, {"p": "q"}, n=4, sort_by="ref", sort_pool=3)
    assert {r for r, lab in zip(g.responses, g.labels) if lab} <= {"p answer 4", "p answer 3", "p answer 2"}
    bad = rows[:9] + [_sample("p", 9, False)]
    with pytest.raises(RowError, match="scores\\['ref'\\]"):
        build_groups(bad, {"p": "q"}, n=4, sort_by="ref")


def test_missing_question_names_the_problem():
    with pytest.raises(RowError, match="'zz'"):
        build_groups([_sample("zz", 0, True)], {"p": "q"})
    (g,) = build_groups([dict(_sample("zz", 0, True), question="inline q"), _sample("zz", 1, False)])
    assert g.question == "inline q"


def test_collator_layout():
    tok = tiny_tokenizer()
    rows = [_sample("a", i, i % 2 == 0) for i in range(6)] + [_sample("b", 0, True), _sample("b", 1, False)]
    groups = build_groups(rows, {"a": "What is 1+1?", "b": "What is 2+2?"}, n=6)
    batch = GroupCollator(PairEncoder(tok, max_len=64))(groups)
    R = 8
    assert batch["input_ids"].shape[0] == R and batch["attention_mask"].shape == batch["input_ids"].shape
    assert batch["slots"].shape == (2, 6) and batch["labels"].shape == (2, 6)
    b_row = [g.problem_id for g in groups].index("b")
    assert (batch["slots"][b_row] == -1).sum() == 4
    flat = batch["slots"][batch["slots"] >= 0]
    assert sorted(flat.tolist()) == list(range(R))
    # the engine normalises a step by num_targets: groups, (pos, neg) pairs, or responses
    assert batch["num_targets"] == 2  # listwise: one unit per group
    k_a = sum(groups[1 - b_row].labels)  # problem a: k correct of 6
    counts = {"pairwise_bt": k_a * (6 - k_a) + 1, "bce": R, "mse": R, "listwise_bt": 2}
    for loss, expected in counts.items():
        assert GroupCollator(PairEncoder(tok, max_len=64), loss=loss)(groups)["num_targets"] == expected
    # right padding: every row starts with real tokens, pads only at the end
    m = batch["attention_mask"]
    assert torch.all(m[:, 0] == 1) and torch.all(m[:, 1:] <= m[:, :-1])


def test_missing_question_names_file_and_row():
    rows = [("a.jsonl:1", dict(_sample("p", 0, True), question="q")), ("b.jsonl:3", _sample("zz", 0, True))]
    with pytest.raises(RowError, match=r"^b\.jsonl:3: problem 'zz': no question"):
        build_groups(rows)

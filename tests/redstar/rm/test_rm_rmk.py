"""rm@k / maj@k / pass@k on fixed scores against a hand computation, through the CLI."""

import json

import pytest

from redstar.cli import main
from redstar.dataio import write_jsonl
from redstar.records import RowError
from redstar.rm.rmk import rmk_report

# Two problems, three candidates each: (score, correct, extracted answer).
A = [(0.9, True, "5"), (0.5, False, "7"), (0.1, True, "5")]
B = [(0.3, False, "3"), (0.7, True, "4"), (0.6, False, "3")]

# By hand, enumerating the k-subsets of each problem (all equally likely):
# rm@k  A: k=1 2/3; k=2 {0,1}->0 T, {0,2}->0 T, {1,2}->1 F = 2/3; k=3 -> 0 T = 1
#       B: k=1 1/3; k=2 {0,1}->1 T, {0,2}->2 F, {1,2}->1 T = 2/3; k=3 -> 1 T = 1
# maj@k A: k=1 2/3; k=2 {0,1} tie "5"/"7" (first seen wins: 1/2), {0,2} "5" T, {1,2} tie 1/2 = 2/3; k=3 "5" T
#       B: k=1 1/3; k=2 {0,1} tie 1/2, {0,2} "3" F, {1,2} tie 1/2 = 1/3; k=3 "3" F
# pass@k A: 2/3, 1, 1   B: 1/3, 2/3, 1
HAND = {
    1: {"rm": 0.5, "maj": 0.5, "pass": 0.5},
    2: {"rm": 2 / 3, "maj": 0.5, "pass": 5 / 6},
    3: {"rm": 1.0, "maj": 0.5, "pass": 1.0},
}


def _rows():
    rows = []
    for pid, cands in (("A", A), ("B", B)):
        for i, (s, c, a) in enumerate(cands):
            rows.append(
                {
                    "problem_id": pid,
                    "response": f"{pid} candidate {i}: \\boxed{{{a}}}",
                    "model": "m",
                    "verdict": {"correct": c, "extracted": a, "reason": ""},
                    "filters": {},
                    "scores": {"rm": s},
                }
            )
    return rows


def test_rmk_cli_matches_hand_computation(tmp_path, capsys):
    write_jsonl(tmp_path / "scored.jsonl", _rows())
    code = main(
        ["rm", "rmk", "--input", str(tmp_path / "scored.jsonl"), "--out", str(tmp_path / "rmk"), "--seeds", "4000"]
    )
    assert code == 0
    report = json.loads((tmp_path / "rmk" / "rmk.json").read_text())
    assert [r["k"] for r in report["table"]] == [1, 2, 3]
    for r in report["table"]:
        assert r["pass"] == pytest.approx(HAND[r["k"]]["pass"], abs=1e-9)  # exact estimator
        assert r["rm"] == pytest.approx(HAND[r["k"]]["rm"], abs=0.02)  # 4000 random draws
        assert r["maj"] == pytest.approx(HAND[r["k"]]["maj"], abs=0.02)
    assert (tmp_path / "rmk" / "rmk.png").stat().st_size > 1000
    assert "| 3 | 100.00 | " in (tmp_path / "rmk" / "rmk.md").read_text()
    assert "rm@k" in capsys.readouterr().out


def test_rmk_exact_at_k_equal_n_and_seed_reproducible():
    rep = rmk_report(_rows(), ks=[3], seeds=7)
    assert rep["table"][0]["rm"] == 1.0  # all candidates drawn: always the top-scored one
    assert rmk_report(_rows(), ks=[1, 2], seeds=50, seed=3) == rmk_report(_rows(), ks=[1, 2], seeds=50, seed=3)


def test_rmk_rejects_unscored_and_too_large_k(tmp_path, capsys):
    with pytest.raises(RowError, match="k=4 needs 4 candidates"):
        rmk_report(_rows(), ks=[4])
    rows = _rows()
    del rows[4]["scores"]["rm"]
    write_jsonl(tmp_path / "bad.jsonl", rows)
    assert main(["rm", "rmk", "--input", str(tmp_path / "bad.jsonl"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl:5:" in err and "'B'" in err and "redstar rm score" in err


def _one_problem(*answers):
    return [
        {"problem_id": "p", "response": f"r{i}", "verdict": {"correct": c, "extracted": a}, "scores": {"rm": float(i)}}
        for i, (a, c) in enumerate(answers)
    ]


def test_maj_merges_equivalent_answers():
    # Two WRONG answers that are one number ("1/4" and "0.25") against one correct "3": the
    # grades leave the vote open (wrong answers may or may not merge), so only the equivalence
    # function can decide it. It must be called, and its merge must make the wrong answer win.
    from redstar.verify import answers_equivalent

    calls = []

    def spy(a, b):
        calls.append(frozenset((a, b)))
        return answers_equivalent(a, b)

    rows = _one_problem(("1/4", False), ("0.25", False), ("3", True))
    assert rmk_report(rows, ks=[3], seeds=20, equivalent=spy)["table"][0]["maj"] == 0.0
    assert frozenset(("1/4", "0.25")) in calls
    # without it each string is its own class: a three-way tie, won by a random one
    assert rmk_report(rows, ks=[3], seeds=400)["table"][0]["maj"] == pytest.approx(1 / 3, abs=0.08)
    # a spy that says nothing is equal leaves the tie: the function, not the grades, decided above
    assert rmk_report(rows, ks=[3], seeds=400, equivalent=lambda a, b: a == b)["table"][0]["maj"] == pytest.approx(
        1 / 3, abs=0.08
    )


def test_maj_with_math_equivalent_merges_correct_answers():
    # "1/2" and "0.5" both correct outvote "3" at k=3 (the grades alone decide this one)
    from redstar.rm.rmk import math_equivalent

    rows = _one_problem(("1/2", True), ("0.5", True), ("3", False))
    assert rmk_report(rows, ks=[3], seeds=20, equivalent=math_equivalent())["table"][0]["maj"] == 1.0


def test_unscored_row_is_named_by_file_and_row_within_a_directory(tmp_path):
    rows = _rows()
    del rows[4]["scores"]["rm"]  # problem B's second candidate
    (tmp_path / "d").mkdir()
    write_jsonl(tmp_path / "d" / "part0.jsonl", rows[:3])
    write_jsonl(tmp_path / "d" / "part1.jsonl", rows[3:])
    with pytest.raises(RowError, match=r"part1\.jsonl:2: problem 'B' has no numeric scores"):
        rmk_report(tmp_path / "d", ks=[1])
    assert rmk_report(str(tmp_path / "d" / "part0.jsonl"), ks=[1], seeds=5)["table"][0]["pass"] == pytest.approx(2 / 3)

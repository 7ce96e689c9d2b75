"""`redstar verify` end to end on a small real-format file, and grade_batch across processes."""

import json

from redstar.cli import main
from redstar.verify import grade, grade_batch


def _rows():
    return [
        {"id": "m1", "gold": "\\frac{1}{2}", "response": "<think>maybe \\boxed{1}</think> so \\boxed{0.5}"},
        {"id": "m2", "gold": "5", "response": "The answer is \\boxed{500}."},
        {"id": 3, "gold": "C", "kind": "choice", "choices": ["1", "2", "3"], "response": "Answer: (C)"},
        {
            "id": "c1",
            "gold": "",
            "kind": "code",
            "tests": {"inputs": ["2\n"], "outputs": ["4\n"]},
            "response": "```python\nn = int(input())\nprint(n * n)\n```",
        },
    ]


def test_cli_end_to_end(tmp_path, capsys):
    src, dst = tmp_path / "cases.jsonl", tmp_path / "out" / "verdicts.jsonl"
    lines = [json.dumps(r) for r in _rows()]
    lines.insert(2, "{not json")
    lines.insert(3, json.dumps({"id": "bad", "gold": "1"}))  # no response
    src.write_text("\n".join(lines) + "\n")
    rc = main(["verify", "--input", str(src), "--output", str(dst), "--workers", "2", "--no-progress"])
    assert rc == 1  # malformed rows were skipped
    err = capsys.readouterr()
    assert f"{src}:3" in err.err and f"{src}:4" in err.err
    assert "graded 4 rows" in err.out and "3 correct" in err.out
    out = [json.loads(x) for x in dst.read_text().splitlines()]
    assert [o["id"] for o in out] == ["m1", "m2", 3, "c1"]
    assert [o["correct"] for o in out] == [True, False, True, True]
    assert out[0]["extracted"] == "0.5" and all(o["reason"] for o in out)


def test_cli_strict_stops_with_line(tmp_path, capsys):
    src = tmp_path / "cases.jsonl"
    src.write_text(
        json.dumps(_rows()[0]) + "\n" + json.dumps({"id": 2, "gold": "1", "response": "x", "kind": "essay"}) + "\n"
    )
    rc = main(["verify", "--input", str(src), "--output", str(tmp_path / "v.jsonl"), "--strict"])
    assert rc == 2
    assert f"{src}:2" in capsys.readouterr().err
    assert not (tmp_path / "v.jsonl").exists()


def test_grade_batch_matches_grade_in_order():
    items = [{"response": f"\\boxed{{{i}/4}}", "gold": str(i / 4) if i % 3 else "7"} for i in range(40)]
    items.append({"response": None, "gold": "1"})
    items.append({"response": "\\boxed{1}", "gold": "1", "timeout": 1.0})
    got = grade_batch(items, workers=2, progress=False)
    assert len(got) == len(items)
    for it, v in zip(items[:40], got[:40]):
        assert v == grade(it["response"], it["gold"])
    assert not got[40].correct and "bad item" in got[40].reason
    assert got[41].correct


def test_cli_rows_may_carry_the_question(tmp_path, capsys):
    src, dst = tmp_path / "rows.jsonl", tmp_path / "verdicts.jsonl"
    q = "Evaluate $\\log_2 64$."
    rows = [
        {"id": "echo", "gold": "6", "question": q, "response": "So, the final answer is $\\log_2 64$."},
        {"id": "honest", "gold": "6", "question": q, "response": "$\\log_2 64 = 6$"},
        {"id": "no-question", "gold": "6", "response": "So, the final answer is $\\log_2 64$."},
        {"id": "bad", "gold": "6", "question": 6, "response": "6"},
    ]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rc = main(["verify", "--input", str(src), "--output", str(dst), "--no-progress"])
    assert rc == 1 and f"{src}:4" in capsys.readouterr().err  # 'question' must be text
    out = {o["id"]: o for o in map(json.loads, dst.read_text().splitlines())}
    assert out["echo"]["correct"] is False and out["echo"]["reason"] == "restates the question"
    assert out["honest"]["correct"] is True and out["no-question"]["correct"] is True

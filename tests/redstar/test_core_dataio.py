import json
import os

import pytest

from redstar.dataio import ReadStats, atomic_open, read_rows, write_jsonl, write_rows
from redstar.records import Problem, RowError, SFTRow


def test_jsonl_malformed_line_names_file_and_line(tmp_path):
    p = tmp_path / "rows.jsonl"
    p.write_text('{"a": 1}\n\n{"a": 2\n{"a": 3}\n')
    with pytest.raises(RowError) as e:
        list(read_rows(p))
    assert f"{p}:3" in str(e.value)


def test_jsonl_skip_bad_counts(tmp_path):
    p = tmp_path / "rows.jsonl"
    p.write_text('{"a": 1}\nnot json\n[1, 2]\n{"a": 4}\n')
    stats = ReadStats()
    rows = list(read_rows(p, skip_bad=True, stats=stats))
    assert [r["a"] for r in rows] == [1, 4]
    assert stats.read == 2 and stats.skipped == 2
    assert stats.skipped_where[0].startswith(f"{p}:2")


def test_schema_check_reports_line(tmp_path):
    p = tmp_path / "sft.jsonl"
    good = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    bad = {"messages": [{"role": "user", "content": "q"}]}
    p.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(RowError, match=r"sft.jsonl:2: SFT row: the last message must be the assistant"):
        list(read_rows(p, schema=SFTRow))


def test_parquet_json_and_dir_roundtrip(tmp_path):
    rows = [{"id": str(i), "question": f"q{i}", "answer": str(i)} for i in range(5)]
    write_rows(tmp_path / "d" / "a.parquet", rows)
    (tmp_path / "d" / "b.json").write_text(json.dumps(rows[:2]))
    assert list(read_rows(tmp_path / "d" / "a.parquet", schema=Problem)) == rows
    assert len(list(read_rows(tmp_path / "d"))) == 7


def test_hf_saved_dataset(tmp_path):
    import datasets

    datasets.Dataset.from_list([{"x": 1}, {"x": 2}]).save_to_disk(str(tmp_path / "ds"))
    assert [r["x"] for r in read_rows(tmp_path / "ds")] == [1, 2]


def test_missing_source_is_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_rows(tmp_path / "missing.jsonl")


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    p = tmp_path / "out.jsonl"
    write_jsonl(p, [{"a": 1}])

    def rows():
        yield {"a": 2}
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        write_jsonl(p, rows())
    assert [json.loads(x) for x in p.read_text().splitlines()] == [{"a": 1}]
    assert [f for f in os.listdir(tmp_path) if f != "out.jsonl"] == []  # no temp files left


def test_atomic_open_binary(tmp_path):
    with atomic_open(tmp_path / "x.bin", "wb") as f:
        f.write(b"\x00\x01")
    assert (tmp_path / "x.bin").read_bytes() == b"\x00\x01"


def test_problem_schema_errors():
    with pytest.raises(RowError, match="empty answer"):
        Problem.from_row({"id": 1, "question": "q", "answer": " "})
    with pytest.raises(RowError, match="needs tests"):
        Problem.from_row({"id": 1, "question": "q", "domain": "code"})
    with pytest.raises(RowError, match="domain"):
        Problem.from_row({"id": 1, "question": "q", "answer": "1", "domain": "poetry"})
    p = Problem.from_row({"id": 7, "question": "q", "answer": 25})
    assert p.id == "7" and p.answer == "25" and p.images == []


def test_missing_file_is_never_taken_for_a_hub_id(tmp_path, monkeypatch):
    from redstar.dataio import looks_like_hub_id

    assert looks_like_hub_id("lighteval/MATH-Hard") and looks_like_hub_id("HuggingFaceH4/aime_2024")
    for name in ("data/testmini.json", "runs/responses.jsonl", "a/b/c", "./x/y", "x/y.parquet"):
        assert not looks_like_hub_id(name), name
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_rows("runs/responses.jsonl")


def test_atomic_writes_respect_the_umask(tmp_path):
    """Outputs are readable by colleagues under umask 022, as a plain open() would make them."""
    old = os.umask(0o022)
    try:
        write_jsonl(tmp_path / "a.jsonl", [{"a": 1}])
        with atomic_open(tmp_path / "b.bin", "wb") as f:
            f.write(b"x")
        with open(tmp_path / "plain.txt", "w") as f:
            f.write("x")
        os.umask(0o077)
        write_jsonl(tmp_path / "private.jsonl", [{"a": 1}])
    finally:
        os.umask(old)
    plain = os.stat(tmp_path / "plain.txt").st_mode & 0o777
    assert plain == 0o644
    assert os.stat(tmp_path / "a.jsonl").st_mode & 0o777 == plain
    assert os.stat(tmp_path / "b.bin").st_mode & 0o777 == plain
    assert os.stat(tmp_path / "private.jsonl").st_mode & 0o777 == 0o600


def test_every_location_is_path_line_with_the_row_id(tmp_path):
    """One location format everywhere: the 1-based physical line a row starts on, plus its id."""
    from redstar.dataio import iter_located, read_located, write_parquet
    from redstar.records import SFTRow

    arr = tmp_path / "rows.json"
    arr.write_text('[\n  {"id": "a", "x": 1},\n\n  {"id": "b",\n   "x": 2},\n  {"id": "c", "x": 3}\n]\n')
    assert [w for w, _ in iter_located(arr)] == [f"{arr}:2", f"{arr}:4", f"{arr}:6"]
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text('{"version": 1,\n "data": [\n  {"id": 1},\n  {"id": 2}\n ]\n}\n')
    assert [w for w, _ in iter_located(wrapped)] == [f"{wrapped}:3", f"{wrapped}:4"]
    mapping = tmp_path / "testmini.json"
    mapping.write_text('{\n "1": {"pid": "1", "q": "a"},\n "2": {\n   "pid": "2", "q": "b"}\n}\n')
    assert [(w, r["_key"]) for w, r in iter_located(mapping)] == [(f"{mapping}:2", "1"), (f"{mapping}:3", "2")]
    pq = tmp_path / "rows.parquet"
    write_parquet(pq, [{"id": "p1"}, {"id": "p2"}])
    assert [w for w, _ in iter_located(pq)] == [f"{pq}:row 1", f"{pq}:row 2"]

    bad = tmp_path / "sft.jsonl"
    bad.write_text(
        '{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}\n\n'
        '{"id": "r2", "messages": [{"role": "user", "content": "q"}]}\n'
    )
    with pytest.raises(RowError, match=rf"^{bad}:3 \(id r2\): SFT row: the last message"):
        read_located([str(bad)], schema=SFTRow)
    stats = ReadStats()
    _rows, wheres = read_located([str(bad)], schema=SFTRow, skip_bad=True, stats=stats)
    assert wheres == [f"{bad}:1"] and stats.to_dict()["rows_read"] == 2
    assert stats.skipped_where[0].startswith(f"{bad}:3 (id r2): SFT row")

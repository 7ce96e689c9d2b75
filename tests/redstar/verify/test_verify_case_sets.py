"""The verifier against its two labelled case sets (bench/data): no false positives on either,
misses at most 1% on the held-out set, none on the dev set's math and choice rows. The full
report with peers is bench/bench_verify.py; this keeps the targets from regressing."""

import json
from pathlib import Path

import pytest

from redstar.verify import grade

DATA = Path(__file__).resolve().parents[3] / "bench" / "data"


def _rows(name):
    rows = [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if r["kind"] != "code"]  # code rows need the sandbox: bench only


def _errors(rows):
    fp, fn = [], []
    for r in rows:
        v = grade(r["response"], r["gold"], r["kind"], r.get("choices"))
        if v.correct != r["label"]:
            (fp if v.correct else fn).append(f"{r['id']}: gold {r['gold']!r}, read {v.extracted!r} ({v.reason})")
    return fp, fn


@pytest.mark.parametrize("name,max_miss_rate", [("verify_heldout.jsonl", 0.01), ("verify_cases.jsonl", 0.0)])
def test_case_set_targets(name, max_miss_rate):
    rows = _rows(name)
    assert len(rows) >= 200
    fp, fn = _errors(rows)
    assert fp == [], fp
    assert len(fn) <= max_miss_rate * len(rows), fn


def test_heldout_set_covers_its_conventions():
    rows = _rows("verify_heldout.jsonl")
    sources = {r["source"] for r in rows}
    assert {"MATH", "AIME", "GSM8K", "GeoQA", "MathVista", "Geometry3K"} <= sources
    assert sum(not r["label"] for r in rows) >= 40  # near misses, not only positives

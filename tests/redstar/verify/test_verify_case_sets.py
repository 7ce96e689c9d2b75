"""The verifier against every labelled case set (bench/data): the dev set, both held-out sets and
the weak-model-output set. No false positive on any of them; misses at most 1% on the held-out
sets and on the weak outputs' honest answers, none on the dev set's math and choice rows. Rows
carry their question where it is known, graded as eval, the RL reward and curation grade them
(fallback off). The full report with peers is bench/bench_verify.py."""

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
        v = grade(r["response"], r["gold"], r["kind"], r.get("choices"), question=r.get("question"))
        if v.correct != r["label"]:
            (fp if v.correct else fn).append(f"{r['id']}: gold {r['gold']!r}, read {v.extracted!r} ({v.reason})")
    return fp, fn


SETS = [
    ("verify_cases.jsonl", 0.0, 300),
    ("verify_heldout.jsonl", 0.01, 200),
    ("verify_heldout2.jsonl", 0.01, 300),
    ("verify_weak.jsonl", 0.01, 120),
]


@pytest.mark.parametrize("name,max_miss_rate,min_rows", SETS)
def test_case_set_targets(name, max_miss_rate, min_rows):
    rows = _rows(name)
    assert len(rows) >= min_rows
    fp, fn = _errors(rows)
    assert fp == [], fp
    assert len(fn) <= max_miss_rate * len(rows), fn


def test_heldout_set_covers_its_conventions():
    rows = _rows("verify_heldout.jsonl")
    sources = {r["source"] for r in rows}
    assert {"MATH", "AIME", "GSM8K", "GeoQA", "MathVista", "Geometry3K"} <= sources
    assert sum(not r["label"] for r in rows) >= 40  # near misses, not only positives


def test_second_heldout_set_is_published_material_with_provenance():
    rows = _rows("verify_heldout2.jsonl")
    assert all({"repo", "path", "commit"} <= set(r["provenance"]) for r in rows)
    assert all(len(r["provenance"]["commit"]) == 40 and r.get("question") for r in rows)
    assert sum(r["category"] == "qwen-real" for r in rows) >= 100  # published model responses
    sources = {r["source"] for r in rows}
    assert {"olympiadbench", "gaokao2023en", "college_math", "amc23", "minerva_math", "gsm8k"} <= sources
    assert sum(not r["label"] for r in rows) >= 0.4 * len(rows)  # near misses, not only positives


def test_weak_outputs_would_earn_credit_without_the_guards():
    """The weak-output set is hard where it should be: with the question withheld and the old
    bare last-number fallback, many of its wrong rows would be credited; with neither, none is."""
    from redstar.verify import extract_answer

    rows = _rows("verify_weak.jsonl")
    wrong = [r for r in rows if not r["label"]]
    assert len(rows) >= 120 and len(wrong) >= 0.6 * len(rows) and all(r.get("question") for r in rows)
    echoes = [r for r in wrong if "echo" in r["note"]]
    assert len(echoes) >= 30 and sum(grade(r["response"], r["gold"]).correct for r in echoes) >= 20
    stray = [r for r in wrong if r["category"] in ("demo", "weak-style") and "echo" not in r["note"]]
    # a naive last-number reader (the number closest to the end) takes the gold from most of them
    import re

    naive = sum((re.findall(r"\d+(?:\.\d+)?", r["response"]) or [None])[-1] == r["gold"] for r in stray)
    assert naive >= 0.5 * len(stray)
    assert not any(grade(r["response"], r["gold"], fallback=True, question=r["question"]).correct for r in stray)
    assert extract_answer("100 = 100 * 2 + 1", fallback=True) == "100 = 100 * 2 + 1"  # an equation, not 1

"""Grade model responses against gold answers: math (exact equivalence), multiple choice
(letters or option text) and code (TACO tests in a sandbox).

Input rows (JSONL, JSON or Parquet): id, gold, response, optional kind (math | choice | code,
default math), optional choices (option texts; letters A, B, C... in order), optional tests
({"inputs": [...], "outputs": [...], "fn_name": optional}), optional question (the problem text:
an answer that only restates the question's expression is graded wrong). A stated answer is
required (no bare last-number fallback). Output rows, same order: id,
correct, extracted, reason. Malformed input rows are reported with their line number and
left out (exit code 1), or stop the run with --strict (exit code 2).

Code rows run in a bubblewrap sandbox (``--sandbox``); each code row's output records where
its code ran. Without a working sandbox the run stops with exit code 2 and what to install.

example:
  redstar verify --input cases.jsonl --output verdicts.jsonl --workers 2
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

KINDS = ("math", "choice", "code")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", required=True, help="rows to grade (JSONL / JSON / Parquet)")
    parser.add_argument("--output", required=True, help="verdict rows (JSONL, written atomically)")
    parser.add_argument("--workers", type=int, default=1, help="grading processes (default 1)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per item (default 5)")
    parser.add_argument("--strict", action="store_true", help="stop at the first malformed row")
    parser.add_argument(
        "--sandbox",
        default="bwrap",
        help="where code rows run: bwrap (default; stops if it cannot be set up), an "
        "http(s):// SandboxFusion address, or none (no isolation; recorded in each code row)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


class VerifyRow:
    """Schema of an input row, for ``read_rows(schema=...)`` (raises RowError naming the field)."""

    @classmethod
    def from_row(cls, row: dict) -> dict:
        from redstar.records import RowError, check_code_tests

        if "id" not in row or not isinstance(row["id"], (str, int)):
            raise RowError("row needs an 'id' (string or integer)")
        if not isinstance(row.get("response"), str):
            raise RowError(f"row {row['id']!r}: 'response' must be a string")
        kind = row.get("kind") or "math"
        if kind not in KINDS:
            raise RowError(f"row {row['id']!r}: 'kind' must be one of {', '.join(KINDS)}, got {kind!r}")
        gold = row.get("gold")
        if kind != "code" and (not isinstance(gold, (str, int, float)) or str(gold).strip() == ""):
            raise RowError(f"row {row['id']!r}: 'gold' must be a non-empty string or number")
        choices = row.get("choices")
        if choices is not None and (not isinstance(choices, list) or not choices):
            raise RowError(f"row {row['id']!r}: 'choices' must be a non-empty list or null")
        question = row.get("question")
        if question is not None and not isinstance(question, str):
            raise RowError(f"row {row['id']!r}: 'question' must be a string or null")
        if kind == "code":
            check_code_tests(row.get("tests"), f"code row {row['id']!r}")
        return row


def run(args: argparse.Namespace) -> int:
    from redstar.dataio import ReadStats, read_rows, write_jsonl
    from redstar.verify import grade_batch
    from redstar.verify.code_sandbox import SandboxUnavailable, check_sandbox

    stats = ReadStats()
    rows = list(read_rows(args.input, schema=VerifyRow, skip_bad=not args.strict, stats=stats))
    for where in stats.skipped_where:
        print(f"redstar verify: skipped malformed row {where}", file=sys.stderr)
    sandbox = args.sandbox
    if any((r.get("kind") or "math") == "code" for r in rows):
        try:  # fail closed: no code row is graded, or scored 0, without the sandbox asked for
            sandbox = check_sandbox(args.sandbox)
        except (SandboxUnavailable, ValueError) as e:
            print(f"redstar verify: {e}", file=sys.stderr)
            return 2
        if sandbox == "none":
            print("redstar verify: --sandbox none: code rows run WITHOUT isolation", file=sys.stderr)
    items = [
        {
            "response": r["response"],
            "gold": "" if r.get("gold") is None else str(r["gold"]),
            "kind": r.get("kind") or "math",
            "choices": r.get("choices"),
            "tests": r.get("tests"),
            "sandbox": sandbox,
            "question": r.get("question"),
        }
        for r in rows
    ]
    t0 = time.perf_counter()
    try:
        verdicts = grade_batch(items, workers=max(1, args.workers), progress=not args.no_progress, timeout=args.timeout)
    except SandboxUnavailable as e:  # e.g. a worker's environment differs from this process's
        print(f"redstar verify: {e}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - t0
    out = [
        {"id": r["id"], "correct": bool(v.correct), "extracted": v.extracted, "reason": v.reason}
        for r, v in zip(rows, verdicts)
    ]
    for o, it in zip(out, items):
        if it["kind"] == "code":
            o["sandbox"] = sandbox  # where this row's code ran, e.g. "none" for an unisolated run
    write_jsonl(args.output, out)

    n_ok = sum(o["correct"] for o in out)
    by_kind = Counter((it["kind"], v.correct) for it, v in zip(items, verdicts))
    print(
        f"graded {len(out)} rows in {elapsed:.1f}s ({len(out) / max(elapsed, 1e-9):.0f}/s, "
        f"{args.workers} worker(s)): {n_ok} correct, {len(out) - n_ok} incorrect"
        + (f"; {stats.skipped} malformed row(s) skipped" if stats.skipped else "")
    )
    for kind in KINDS:
        total = by_kind[(kind, True)] + by_kind[(kind, False)]
        if total:
            print(f"  {kind:7s} {by_kind[(kind, True)]}/{total} correct")
    reasons = Counter(o["reason"].split(":")[0] for o in out if not o["correct"])
    if reasons:
        print("  top reasons for incorrect: " + ", ".join(f"{r} ({c})" for r, c in reasons.most_common(4)))
    print(f"wrote {args.output}")
    return 1 if stats.skipped else 0

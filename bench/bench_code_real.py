"""Score ``redstar verify``'s code grading against real contest programs labelled by TACO's harness.

Rows: ``bench/data/code_real.jsonl`` (see ``bench/data/README.md``): published programs with
their tests and a label from TACO's own ``testing_util.py`` (``taco_pass``), overridden by
``adjudicated`` where TACO's harness is itself wrong. Each row is graded ``--runs`` times with
``redstar.verify.grade(..., kind="code")`` as a response holding the program in a ```python block,
with TACO's time limit (4 s a test) as each test's ``time_limit`` and their sum (at most 40 s) as
the item's timeout.

Reported: agreement with the label, false positives (graded correct, labelled wrong), false
negatives, agreement per idiom (threads, ``exit()``, starter code without ``typing``...), rows
whose verdict changed between runs, and every disagreement with redstar's reason.

    python bench/bench_code_real.py                      # writes bench/results/code_real_score.md
    python bench/bench_code_real.py --first-score --out bench/results/code_real_first_score.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

CASES = ROOT / "data" / "code_real.jsonl"
OUT = ROOT / "results" / "code_real_score.md"
PER_TEST_S = 4.0  # TACO's per-test limit
MAX_ITEM_S = 40.0


def load(path: Path) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                row["label"] = bool(row["label"])
                row["tests"], row["code"] = dict(row["tests"]), str(row["code"])
            except (ValueError, KeyError, TypeError) as e:
                raise SystemExit(f"{path}:{n}: bad row ({e})") from None
            rows.append(row)
    return rows


def grade_row(row: dict, sandbox: str) -> tuple[bool, str]:
    from redstar.verify import grade

    timeout = min(MAX_ITEM_S, PER_TEST_S * len(row["tests"]["inputs"]))
    tests = {**row["tests"], "time_limit": PER_TEST_S}  # TACO's limit is per test
    v = grade(f"```python\n{row['code']}\n```", "", kind="code", tests=tests, timeout=timeout, sandbox=sandbox)
    return bool(v.correct), v.reason


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=Path, default=CASES)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sandbox", default="bwrap")
    ap.add_argument("--first-score", action="store_true", help="say in the report that this is the first score")
    args = ap.parse_args()
    args.out = args.out.resolve()
    rows = load(args.cases)
    verdicts: list[list[tuple[bool, str]]] = [[] for _ in rows]
    walls = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.workers) as pool:
            for i, v in enumerate(pool.map(lambda r: grade_row(r, args.sandbox), rows)):
                verdicts[i].append(v)
        walls.append(time.perf_counter() - t0)

    first = [v[0][0] for v in verdicts]
    unstable = [i for i, v in enumerate(verdicts) if len({ok for ok, _ in v}) > 1]
    agree = sum(f == r["label"] for f, r in zip(first, rows))
    fp = [i for i, r in enumerate(rows) if first[i] and not r["label"]]
    fn = [i for i, r in enumerate(rows) if not first[i] and r["label"]]
    by_idiom: dict[str, Counter] = defaultdict(Counter)
    for i, r in enumerate(rows):
        for name in r.get("idioms") or ["(none)"]:
            by_idiom[name]["rows"] += 1
            by_idiom[name]["agree"] += first[i] == r["label"]
    n = len(rows)
    lines = [
        "# bench_code_real" + (" — first score (before any runner change)" if args.first_score else ""),
        "",
        f"Command: `python bench/bench_code_real.py{' --first-score' if args.first_score else ''}"
        f"{'' if args.cases.resolve() == CASES.resolve() else ' --cases ' + os.path.relpath(args.cases.resolve(), ROOT.parent)}"
        f"{'' if args.out == OUT.resolve() else ' --out ' + os.path.relpath(args.out, ROOT.parent)}`",
        "",
        f"Machine: {os.cpu_count()}-core CPU ({platform.machine()}), shared with other work; Python "
        f"{platform.python_version()}; sandbox `{args.sandbox}`; {args.workers} items at a time; time limit "
        f"{PER_TEST_S:.0f} s a test (TACO's), item timeout their sum, at most {MAX_ITEM_S:.0f} s. {args.runs} runs; wall per run "
        + ", ".join(f"{w:.0f} s" for w in walls)
        + ".",
        "",
        f"Rows: {n} ({sum(r['label'] for r in rows)} labelled correct; "
        f"{sum(1 for r in rows if r.get('adjudicated'))} adjudicated where TACO's harness is wrong).",
        "",
        "| measure | value |",
        "|---|---|",
        f"| agreement with the label (run 1) | {agree}/{n} = {100 * agree / n:.1f}% |",
        f"| false positives (graded correct, labelled wrong) | {len(fp)} |",
        f"| false negatives (graded wrong, labelled correct) | {len(fn)} |",
        f"| rows whose verdict changed across the {args.runs} runs | {len(unstable)} |",
        "",
        "| idiom | rows | agreement |",
        "|---|---|---|",
    ]
    for name, c in sorted(by_idiom.items()):
        lines.append(f"| {name} | {c['rows']} | {c['agree']}/{c['rows']} = {100 * c['agree'] / c['rows']:.0f}% |")
    lines += ["", "Disagreements (run 1): id, label, redstar's verdict and reason, idioms.", ""]
    for i in fp + fn:
        r = rows[i]
        why = (r.get("adjudicated") or {}).get("why", "")
        lines.append(
            f"- `{r['id']}` label {r['label']}, redstar {first[i]}: {verdicts[i][0][1]}"
            f" ({', '.join(r.get('idioms') or []) or 'no idiom'}){'; adjudicated: ' + why if why else ''}"
        )
    if unstable:
        lines += ["", "Unstable rows: " + ", ".join(f"`{rows[i]['id']}`" for i in unstable)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, args.out)
    print("\n".join(lines[:16]))


if __name__ == "__main__":
    main()

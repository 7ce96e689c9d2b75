"""Write bench/data/code_real.jsonl from TACO-labelled rows, with the rows where TACO's harness is wrong
adjudicated by hand.

Every row was also run as a judge runs it (each test a fresh ``python3`` process as an unprivileged
user, stdin from a file, whitespace-separated tokens compared, decimals within the problem's
stated error); the rows where that run and TACO's harness disagree were read by hand, and where
TACO's harness is the one that is wrong the row's label is overridden here, with why. TACO's own
result stays in ``taco`` / ``taco_pass``.

    python bench/data/code_real_adjudicate.py labelled.jsonl     # writes bench/data/code_real.jsonl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "code_real.jsonl"

NO_TOLERANCE = (
    "TACO's harness has no numeric tolerance on stdout (its float fallback iterates the output text "
    "character by character), so a correct decimal printed with other digits fails there; the answer "
    "is within the error the problem allows"
)
CODE_FALLBACK = (
    "passes only through TACO's `def code():` fallback (every test exits 1, so TACO wraps the program "
    "in a function and runs it again); as a program it is a SyntaxError (`nonlocal` at module level)"
)
ADJUDICATED = {
    "lcb-o1-preview-abc315_f": (True, NO_TOLERANCE + " (1e-5): 5.82842712474618984686 for 5.82842712474619009753"),
    "lcb-o1-preview-abc374_d": (True, NO_TOLERANCE + " (1e-6): 6.44317475868633771086 for 6.44317475868633722080"),
    "taco-example-147": (True, NO_TOLERANCE + " (1e-6): 1.0 for 1.000000000000"),
    "taco-example-550": (True, NO_TOLERANCE + " (1e-6): 0.9894999999999999 for 0.989500, 1 for 1.000000"),
    "taco-example-554": (True, NO_TOLERANCE + " (1e-6): 1.5000000015419346 for 1.5000000000"),
    "taco-example-631": (
        True,
        "whitespace layout: the expected output has a space before each newline, the program does not; "
        "judges compare tokens and TACO's token-set fallback does not match it",
    ),
    "taco-example-905": (False, CODE_FALLBACK),
    "taco-example-973": (False, CODE_FALLBACK),
}


def main() -> None:
    rows = [json.loads(ln) for ln in open(sys.argv[1], encoding="utf-8") if ln.strip()]
    seen = set()
    with open(OUT.with_suffix(".tmp"), "w", encoding="utf-8") as f:
        for r in rows:
            r.pop("judge", None)
            r.pop("judge_pass", None)
            if r["id"] in ADJUDICATED:
                label, why = ADJUDICATED[r["id"]]
                if label == r["taco_pass"]:
                    raise SystemExit(f"{r['id']}: adjudicated label equals TACO's; drop it from ADJUDICATED")
                r["adjudicated"] = {"label": label, "why": why}
                seen.add(r["id"])
            r["label"] = r["adjudicated"]["label"] if r.get("adjudicated") else r["taco_pass"]
            f.write(json.dumps(r) + "\n")
    missing = set(ADJUDICATED) - seen
    if missing:
        raise SystemExit(f"adjudicated rows not in the input: {sorted(missing)}")
    OUT.with_suffix(".tmp").replace(OUT)
    print(f"{len(rows)} rows, {sum(r['label'] for r in rows)} labelled correct, {len(seen)} adjudicated -> {OUT}")


if __name__ == "__main__":
    main()

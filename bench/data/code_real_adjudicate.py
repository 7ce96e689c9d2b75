"""Write bench/data/code_real.jsonl from TACO-labelled rows, with the rows where TACO's harness is wrong
adjudicated by hand.

Every row was also run as a judge runs it (each test a fresh ``python3`` process as an unprivileged
user, stdin from a file, whitespace-separated tokens compared, decimals within the problem's
stated error); the rows where that run and TACO's harness disagree were read by hand, and where
TACO's harness is the one that is wrong the row's label is overridden here, with why. TACO's own
result stays in ``taco`` / ``taco_pass``.

    python bench/data/code_real_adjudicate.py labelled.jsonl     # writes bench/data/code_real.jsonl
    python bench/data/code_real_adjudicate.py heldout_labelled.jsonl bench/data/code_real_heldout.jsonl
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
LOAD_TIMEOUT = (
    "TACO's harness hit its 4 s limit while labelling two rows at a time on a shared 2-core machine; "
    "TACO's own harness run again on this row alone, twice, passes every test"
)
WHITESPACE = (
    "whitespace layout: the expected output has a space before each newline, the program does not; "
    "judges compare tokens and TACO's token-set fallback does not match it"
)
ADJUDICATED = {
    "lcb-o1-preview-abc315_f": (True, NO_TOLERANCE + " (1e-5): 5.82842712474618984686 for 5.82842712474619009753"),
    "lcb-o1-preview-abc374_d": (True, NO_TOLERANCE + " (1e-6): 6.44317475868633771086 for 6.44317475868633722080"),
    "taco-example-147": (True, NO_TOLERANCE + " (1e-6): 1.0 for 1.000000000000"),
    "taco-example-550": (True, NO_TOLERANCE + " (1e-6): 0.9894999999999999 for 0.989500, 1 for 1.000000"),
    "taco-example-554": (True, NO_TOLERANCE + " (1e-6): 1.5000000015419346 for 1.5000000000"),
    "taco-example-631": (True, WHITESPACE),
    "taco-example-905": (False, CODE_FALLBACK),
    "taco-example-973": (False, CODE_FALLBACK),
    # held-out set (code_real_heldout.jsonl), read after its first score
    "lcb-o1-mini-abc375_b": (True, NO_TOLERANCE + " (1e-6): 6.06449510224598 for 6.06449510224597979401"),
    "taco-example-243": (True, NO_TOLERANCE + " (1e-6): 1.0 for 1.000000000000"),
    "taco-example-323": (True, NO_TOLERANCE + " (1e-6): 0.6666666666666666 for 0.666667"),
    "taco-example-526": (True, NO_TOLERANCE + " (1e-6): 0.800000000 for 0.800000000000"),
    "taco-example-543": (True, NO_TOLERANCE + " (1e-6): 1.5 for 1.500000000000000"),
    "taco-example-743": (True, NO_TOLERANCE + " (1e-6): 0.4000000000000001 for 0.4"),
    "taco-example-143": (True, WHITESPACE),
    "taco-example-464": (True, WHITESPACE + " (and one number a line where the example puts them on one)"),
    "taco-example-662": (True, WHITESPACE),
    "taco-example-177": (
        True,
        "whitespace layout: the example output has blank lines between test cases, the program does not",
    ),
    "lcb-o1-preview-abc363_c": (True, LOAD_TIMEOUT + " (tests 3-4 were -1; re-run alone, about 2.2-2.7 s a test)"),
    "lcb-o1-preview-arc185_c": (True, LOAD_TIMEOUT + " (tests 2 and 4 were -1)"),
    "taco-example-863": (False, CODE_FALLBACK.replace("nonlocal` at module level", "nonlocal all_v` at module level")),
}


def main() -> None:
    rows = [json.loads(ln) for ln in open(sys.argv[1], encoding="utf-8") if ln.strip()]
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else OUT
    seen = set()
    with open(out.with_suffix(".tmp"), "w", encoding="utf-8") as f:
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
    out.with_suffix(".tmp").replace(out)
    print(f"{len(rows)} rows, {sum(r['label'] for r in rows)} labelled correct, {len(seen)} adjudicated -> {out}")


if __name__ == "__main__":
    main()

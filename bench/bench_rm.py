"""Reward-model cost on the embedded default backbone (SmolLM2-135M): scoring throughput by
batch size, and one listwise training micro-batch (a group of n responses, forward + backward).

    python bench/bench_rm.py --pairs 48 --words 150 --batch-sizes 1 8 --device cpu

Responses are synthetic chains of thought of ``--words`` words ending in a boxed answer, paired
with short questions; scoring goes through ``RewardScorer`` (the code ``redstar rm score`` and
the curators run), training through the recipe's ``loss_fn`` on a ``GroupCollator`` batch. The
listwise loss needs one forward per response (n = 6), where separate (pos, neg) pairs need
2 k (n - k) = 18 for k = 3: the reason AceMath's pairwise run took 3.7x the time. Here every
loss reads the same per-group forward, so they differ only in the loss itself, timed apart.
Writes bench/results/bench_rm.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch

from redstar.rm.data import Group, GroupCollator, PairEncoder
from redstar.rm.losses import LOSSES, get_loss
from redstar.rm.model import RewardModel
from redstar.rm.score import RewardScorer
from redstar.rm.train import make_loss_fn

WORDS = [
    "so",
    "we",
    "add",
    "the",
    "two",
    "numbers",
    "then",
    "check",
    "the",
    "result",
    "carefully",
    "and",
    "simplify",
    "each",
    "term",
    "because",
    "the",
    "triangle",
    "is",
    "isosceles",
    "hence",
    "the",
    "angles",
    "are",
    "equal",
    "wait",
    "let",
    "me",
    "verify",
]


def synthetic_pairs(n: int, words: int, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    qs, rs = [], []
    for _ in range(n):
        a, b = rng.randint(1, 99), rng.randint(1, 99)
        qs.append(f"What is {a} + {b}? Please reason step by step, and put your final answer within \\boxed{{}}.")
        length = max(5, int(rng.gauss(words, words / 4)))
        rs.append(" ".join(rng.choice(WORDS) for _ in range(length)) + f" The answer is \\boxed{{{a + b}}}.")
    return qs, rs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--pairs", type=int, default=48)
    ap.add_argument("--words", type=int, default=150)
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--group-n", type=int, default=6)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "bench_rm"))
    args = ap.parse_args()
    torch.set_num_threads(max(1, min(torch.get_num_threads(), os.cpu_count() or 1)))

    t0 = time.perf_counter()
    rm, tok = RewardModel.from_causal_lm(args.model)
    load_s = time.perf_counter() - t0
    rm.to(args.device).eval()
    qs, rs = synthetic_pairs(args.pairs, args.words)
    enc = PairEncoder(tok, max_len=4096)
    n_tokens = sum(len(enc(q, r)) for q, r in zip(qs, rs))

    results = {
        "model": args.model,
        "device": args.device,
        "threads": torch.get_num_threads(),
        "host": platform.processor() or platform.machine(),
        "load_s": round(load_s, 2),
        "pairs": args.pairs,
        "mean_tokens_per_pair": round(n_tokens / args.pairs, 1),
        "scoring": [],
    }
    ref = None
    for bs in args.batch_sizes:
        scorer = RewardScorer(rm, tok, batch_size=bs, device=args.device, progress=False)
        scorer.score(qs[:bs], rs[:bs])  # warm-up
        t = time.perf_counter()
        scores = scorer.score(qs, rs)
        dt = time.perf_counter() - t
        ref = ref or scores
        results["scoring"].append(
            {
                "batch_size": bs,
                "seconds": round(dt, 2),
                "pairs_per_s": round(args.pairs / dt, 2),
                "tokens_per_s": round(n_tokens / dt, 1),
                "max_abs_diff_vs_first": max(abs(a - b) for a, b in zip(scores, ref)),
            }
        )
        print(results["scoring"][-1], flush=True)

    # one training micro-batch: a group of n responses, forward + backward (one warm-up step
    # first); then each loss alone on the group's scores, to show the loss itself costs nothing
    rm.train()
    n = args.group_n
    group = Group("g", qs[0], rs[:n], [i % 2 == 0 for i in range(n)])
    batch = GroupCollator(enc, loss="listwise_bt")([group])
    fn = make_loss_fn("listwise_bt")
    for _ in range(2):
        t = time.perf_counter()
        loss_sum, count, _ = fn(rm, batch)
        (loss_sum / count).backward()
        rm.zero_grad(set_to_none=True)
        dt = time.perf_counter() - t
    results["train_group"] = {"n": n, "tokens": int(batch["attention_mask"].sum()), "seconds": round(dt, 2)}
    print(results["train_group"], flush=True)
    scores = torch.randn(1024, n, requires_grad=True)
    labels = torch.tensor([[i % 2 == 0 for i in range(n)]] * 1024)
    results["loss_only_ms_per_1024_groups"] = {}
    for name in LOSSES:
        t = time.perf_counter()
        for _ in range(10):
            get_loss(name)(scores, labels)[0].backward()
        results["loss_only_ms_per_1024_groups"][name] = round((time.perf_counter() - t) * 100, 2)
    print(results["loss_only_ms_per_1024_groups"], flush=True)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        f"# bench_rm: reward model on `{args.model}` ({args.device}, {results['threads']} threads)",
        "",
        (
            f"`python bench/bench_rm.py --pairs {args.pairs} --words {args.words} --batch-sizes "
            f"{' '.join(map(str, args.batch_sizes))} --group-n {n} --device {args.device}`"
        ),
        "",
        (
            f"{args.pairs} (question, response) pairs, {results['mean_tokens_per_pair']} tokens each on average; "
            f"model load {results['load_s']} s. Shared, busy machine: compare rows, not absolute speed."
        ),
        "",
        "| batch size | s | pairs/s | tokens/s | max abs diff vs batch 1 |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in results["scoring"]:
        lines.append(
            f"| {r['batch_size']} | {r['seconds']} | {r['pairs_per_s']} | {r['tokens_per_s']} | "
            f"{r['max_abs_diff_vs_first']:.1e} |"
        )
    tg = results["train_group"]
    lines += [
        "",
        (
            f"Training, one group of n = {n} responses ({tg['tokens']} tokens), forward + backward: "
            f"{tg['seconds']} s. The loss alone, forward + backward on 1,024 groups of {n} scores (ms):"
        ),
        "",
        "| " + " | ".join(LOSSES) + " |",
        "|" + "---:|" * len(LOSSES),
        "| " + " | ".join(str(results["loss_only_ms_per_1024_groups"][k]) for k in LOSSES) + " |",
    ]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

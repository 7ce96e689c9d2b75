"""SFT engine benchmark (CPU-safe; the GPU part runs only when CUDA is present).

    python bench/bench_sft.py [--quick] [--out bench/results/bench_sft.md]

1. Packing on long-CoT lengths: log-normal around 1.5k tokens, clipped to 128..8192:
   real / computed tokens for best-fit packing at several budgets against padded batches,
   and attention work with per-sample masks (sum L^2) against whole-pack attention.
2. Loss memory: peak resident memory of the chunked linear cross-entropy (forward+backward)
   for a 150k vocabulary at 32k target tokens, next to the size of the full logits; the
   full-logits loss measured at a smaller token count to show how it scales.
3. Side by side with TRL's SFTTrainer (padding-free packing, best-fit decreasing) on the same
   tiny model and data on CPU, in the same run: target tokens/s and wall time for one epoch.
Each memory measurement runs in a fresh subprocess and reads its peak RSS (ru_maxrss).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def lognormal_lengths(n, seed=0, median=1500, sigma=0.8, lo=128, hi=8192):
    rng = random.Random(seed)
    return [int(min(hi, max(lo, rng.lognormvariate(0, sigma) * median))) for _ in range(n)]


# ------------------------------------------------------------------ 1. packing efficiency
def bench_packing(n=2000):
    from redstar.train.packing import attention_cost, best_fit_pack, packing_efficiency

    lengths = lognormal_lengths(n)
    rows = []
    for budget in (8192, 16384, 32768):
        t0 = time.perf_counter()
        packs = best_fit_pack(lengths, budget, seed=0)
        dt = time.perf_counter() - t0
        per_sample, per_pack = attention_cost(lengths, packs)
        rows.append({"budget": budget, "packs": len(packs), "efficiency": packing_efficiency(lengths, packs, budget),
                     "attn_ratio": per_sample / per_pack, "pack_ms": dt * 1000})
    # padded alternative: random batches of 8, each padded to its longest sample
    rng = random.Random(0)
    order = list(range(n))
    rng.shuffle(order)
    real = sum(lengths)
    padded = sum(8 * max(lengths[i] for i in order[k:k + 8]) for k in range(0, n, 8))
    stats = {"n": n, "mean": sum(lengths) / n, "median": sorted(lengths)[n // 2], "min": min(lengths),
             "max": max(lengths), "padded_efficiency": real / padded}
    return rows, stats


# ------------------------------------------------------------------ 2. loss memory
LOSS_CHILD = r"""
import json, resource, sys, time, torch
from redstar.train.loss import linear_cross_entropy
T, V, H, impl = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
torch.set_num_threads(2)
g = torch.Generator().manual_seed(0)
h = (torch.randn(T, H, generator=g) * 0.1).requires_grad_()
w = (torch.randn(V, H, generator=g) * 0.02).requires_grad_()
y = torch.randint(0, V, (T,), generator=g)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
t0 = time.perf_counter()
loss, n = linear_cross_entropy(h, w, y, impl=impl)
loss.backward()
dt = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"T": T, "V": V, "H": H, "impl": impl, "base": base, "peak": peak, "extra": peak - base,
                  "seconds": dt, "loss_per_token": loss.item() / n}))
"""


def bench_loss_memory(quick: bool):
    runs = [(32768, 150_000, 64, "chunked")] if not quick else [(8192, 150_000, 64, "chunked")]
    runs += [(2048, 150_000, 64, "chunked"), (2048, 150_000, 64, "naive")]
    out = []
    for T, V, H, impl in runs:
        p = subprocess.run([sys.executable, "-c", LOSS_CHILD, str(T), str(V), str(H), impl], cwd=ROOT,
                           capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "2"})
        if p.returncode != 0:
            raise RuntimeError(p.stderr[-2000:])
        r = json.loads(p.stdout.strip().splitlines()[-1])
        r["full_logits_fp32"] = T * V * 4
        out.append(r)
    return out


# ------------------------------------------------------------------ 3. TRL side by side
def make_rows(n, seed=1):
    """Chat rows with long-CoT-like length spread (scaled down for CPU: ~150 tokens, 32..1024)."""
    rng = random.Random(seed)
    words = ("let x be the number so we add subtract multiply divide check again therefore wait hmm "
             "the answer is boxed equation triangle angle sum product 1 2 3 4 5 6 7 8 9 0 + - = ( )").split()
    rows = []
    for k in range(n):
        m = int(min(1024, max(32, rng.lognormvariate(0, 0.8) * 150)))
        q = " ".join(rng.choice(words) for _ in range(12))
        a = " ".join(rng.choice(words) for _ in range(m))
        rows.append({"messages": [{"role": "user", "content": f"Problem {k}: {q}"},
                                  {"role": "assistant", "content": a + f" \\boxed{{{k % 10}}}"}]})
    return rows


def tiny_model(seed=0):
    from redstar.models import tiny_causal_lm

    return tiny_causal_lm(seed=seed, hidden_size=128, num_layers=4)


def run_ours(rows, budget, tmp, threads):
    import torch

    from redstar.train.engine import PlanLoader, Trainer, TrainConfig
    from redstar.train.loss import causal_lm_loss
    from redstar.train.packing import best_fit_pack, collate_packed
    from redstar.train.tokenize import tokenize_rows

    torch.set_num_threads(threads)
    model, tok = tiny_model()
    model.set_attn_implementation("sdpa")
    t0 = time.perf_counter()
    ex, stats = tokenize_rows(rows, tok, budget, progress=False)
    lengths = [len(e["input_ids"]) for e in ex]
    loader = PlanLoader(ex, lambda e: best_fit_pack(lengths, budget, seed=e), collate_packed)
    cfg = TrainConfig(lr=1e-4, epochs=1, dtype="float32", gradient_checkpointing=True, progress=False,
                      tensorboard=False, warmup_ratio=0.0, device="cpu", resume=False)
    trainer = Trainer(model, causal_lm_loss, loader, cfg, tmp / "ours", tokenizer=None)
    t1 = time.perf_counter()
    summary = trainer.train()
    # the training loop only: the export and plot that train() ends with are not timed
    return {"system": "redstar engine", "steps": summary["step"], "tokens": summary["tokens"],
            "targets": summary["targets"], "train_s": summary["loop_seconds"], "prep_s": t1 - t0,
            "real_tokens": sum(lengths), "loss": summary["final_loss"]}


def run_trl(rows, budget, tmp, threads):
    import torch
    import trl
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    torch.set_num_threads(threads)
    model, tok = tiny_model()
    model.set_attn_implementation("sdpa")
    args = SFTConfig(output_dir=str(tmp / "trl"), per_device_train_batch_size=1, gradient_accumulation_steps=1,
                     num_train_epochs=1, learning_rate=1e-4, lr_scheduler_type="cosine", packing=True,
                     packing_strategy="bfd", padding_free=True, max_length=budget, assistant_only_loss=True,
                     gradient_checkpointing=True, bf16=False, fp16=False, use_cpu=True, report_to=[],
                     logging_steps=10**6, save_strategy="no", dataloader_num_workers=0, seed=42,
                     disable_tqdm=True)
    t0 = time.perf_counter()
    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tok)
    t_prep = time.perf_counter() - t0
    out = trainer.train()
    ds = trainer.train_dataset
    real = sum(len(x) for x in ds["input_ids"])
    targets = sum(sum(m) for m in ds["assistant_masks"]) if "assistant_masks" in ds.column_names else None
    return {"system": f"TRL {trl.__version__} SFTTrainer", "steps": out.global_step, "tokens": real,
            "targets": targets, "train_s": float(out.metrics["train_runtime"]), "prep_s": t_prep, "real_tokens": real,
            "loss": out.training_loss}


def bench_trl(n_rows, budget, threads, reps):
    """Interleaved repeats (ours, TRL, ours, TRL, ...) on a shared machine; the best run of
    each is reported, since other load only ever slows a run down."""
    import tempfile

    rows = make_rows(n_rows)
    tmp = Path(tempfile.mkdtemp(prefix="bench_sft_"))
    # warm-up both (imports, first-call allocations) on a few rows, then the measured runs
    run_ours(rows[:8], budget, tmp / "w1", threads)
    run_trl(rows[:8], budget, tmp / "w2", threads)
    best = {}
    for k in range(reps):
        for name, fn in (("ours", run_ours), ("trl", run_trl)):
            r = fn(rows, budget, tmp / f"{name}{k}", threads)
            r["tokens_per_s"] = r["real_tokens"] / r["train_s"]
            r.setdefault("all_tokens_per_s", [])
            prev = best.get(name)
            runs = (prev["all_tokens_per_s"] if prev else []) + [r["tokens_per_s"]]
            if prev is None or r["tokens_per_s"] > prev["tokens_per_s"]:
                best[name] = r
            best[name]["all_tokens_per_s"] = runs
    return [best["ours"], best["trl"]]


# ------------------------------------------------------------------ report
def gb(x):
    return f"{x / 2**30:.2f} GiB"


def report(pack_rows, pack_stats, loss_rows, trl_rows, args) -> str:
    import torch

    lines = ["# bench_sft: packing, loss memory, side by side with TRL", "",
             f"Command: `python bench/bench_sft.py{' --quick' if args.quick else ''}`. Machine: {platform.machine()}, "
             f"{os.cpu_count()} CPU cores (shared), torch {torch.__version__}, "
             f"{'CUDA ' + torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'}.", ""]
    s = pack_stats
    lines += ["## 1. Packing on long-CoT lengths", "",
              f"{s['n']} log-normal lengths, median {s['median']}, mean {s['mean']:.0f}, range {s['min']}..{s['max']}.", "",
              "| budget | packs | real / computed tokens | attention sum L^2 / sum pack^2 | plan time |",
              "|---:|---:|---:|---:|---:|"]
    for r in pack_rows:
        lines.append(f"| {r['budget']} | {r['packs']} | {r['efficiency']:.4f} | {r['attn_ratio']:.3f} | {r['pack_ms']:.1f} ms |")
    lines += ["", f"Padded batches of 8 (each padded to its longest sample): {s['padded_efficiency']:.3f} real / computed.",
              "With flash-attn varlen or flex attention's document mask, attention work follows sum L^2 "
              "(the ratio column), not the squared pack length.", ""]
    lines += ["## 2. Loss memory (forward + backward)", "",
              "| tokens | vocab | hidden | loss | peak extra RSS | full logits (fp32) would be | time |",
              "|---:|---:|---:|---|---:|---:|---:|"]
    for r in loss_rows:
        lines.append(f"| {r['T']} | {r['V']} | {r['H']} | {r['impl']} | {gb(r['extra'])} | {gb(r['full_logits_fp32'])} | {r['seconds']:.1f} s |")
    lines += ["", "`extra` = peak RSS minus RSS after the inputs were built (fresh process each). The chunked loss "
              "keeps one [chunk, vocab] block (chunk sized to ~256 MB) and computes its gradient in the same pass.", ""]
    if trl_rows:
        ours, theirs = trl_rows
        lines += ["## 3. Side by side with TRL on CPU (same tiny model, data, budget, one epoch)", "",
                  "| system | optimizer steps | real tokens | train time | tokens/s | final loss |",
                  "|---|---:|---:|---:|---:|---:|"]
        for r in trl_rows:
            lines.append(f"| {r['system']} | {r['steps']} | {r['real_tokens']} | {r['train_s']:.1f} s | "
                         f"{r['tokens_per_s']:.0f} (runs: {', '.join(f'{x:.0f}' for x in r['all_tokens_per_s'])}) | "
                         f"{r['loss']:.3f} |")
        lines += ["", f"Ratio (redstar / TRL tokens/s): **{ours['tokens_per_s'] / theirs['tokens_per_s']:.2f}x**. "
                  f"Model: random Qwen2-style, hidden 128, 4 layers, vocab {tiny_model()[0].config.vocab_size}; "
                  f"{args.rows} chat rows, pack budget {args.budget}, fp32, gradient checkpointing, SDPA, "
                  f"{args.threads} threads. Both train on assistant tokens only; TRL with padding_free + bfd packing.", ""]
    lines += ["## GPU", "", "No GPU was available for this run, so the H100 comparison against TRL's best "
              "configuration (target >= 1.5x of ~53k target tokens/s) and MFU were not measured here."
              if not torch.cuda.is_available() else "See the GPU section in the JSON output.", ""]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller loss-memory case (8k tokens)")
    ap.add_argument("--rows", type=int, default=48)
    ap.add_argument("--budget", type=int, default=2048)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=2, help="interleaved repeats of each side; the best is reported")
    ap.add_argument("--skip-trl", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "bench_sft.md"))
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    pack_rows, pack_stats = bench_packing()
    print(json.dumps(pack_rows), json.dumps(pack_stats))
    loss_rows = bench_loss_memory(args.quick)
    print(json.dumps(loss_rows))
    trl_rows = [] if args.skip_trl else bench_trl(args.rows, args.budget, args.threads, args.reps)
    print(json.dumps(trl_rows))
    from redstar.dataio import atomic_write_text

    text = report(pack_rows, pack_stats, loss_rows, trl_rows, args)
    atomic_write_text(args.out, text)
    atomic_write_text(Path(args.out).with_suffix(".json"), json.dumps(
        {"packing": pack_rows, "lengths": pack_stats, "loss_memory": loss_rows, "trl": trl_rows}, indent=1))
    print(text)


if __name__ == "__main__":
    main()

"""Peak memory of one DPO step against one SFT step over the same sequences.

A narrow model with a wide vocabulary (hidden 128, 49,152 tokens, tied head) makes the head
the memory: each fp32 [V, H] weight-gradient buffer is 25 MB. Three steps are measured,
forward + backward over one pack of 16 samples (8 pairs, 48-108 tokens):

- ``sft``: ``causal_lm_loss`` over the pack (one chunked head pass);
- ``dpo``: the DPO loss with ``sequence_logps`` (one chunked head pass over the pack, summed
  per sample);
- ``dpo_per_sample``: the previous method, ``linear_cross_entropy`` called once per sample
  (each call keeps its own fp32 weight gradient until backward).

Each measurement runs in a fresh process, ``--repeats`` times; reported are the peak bytes
of tensors alive during the step (``redstar.train.memory.TensorMemory``, exact and
repeatable) and the growth of the process's peak resident size over its size before the step
(``ru_maxrss``, what the machine sees). Medians with min-max.

    python bench/bench_dpo_memory.py                  # writes bench/results/bench_dpo_memory.md
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import Qwen2Shape, mmm, random_qwen2  # noqa: E402

VOCAB, HIDDEN, SAMPLES = 49152, 128, 16


def _setup():
    import torch

    model = random_qwen2(dict(Qwen2Shape(VOCAB, HIDDEN, 2 * HIDDEN, 1, 4, 2)._asdict(), tie_word_embeddings=True))
    g = torch.Generator().manual_seed(0)
    samples = []
    for k in range(SAMPLES):
        ids = torch.randint(0, VOCAB, (48 + 4 * k,), generator=g).tolist()
        samples.append({"input_ids": ids, "labels": [-100] * 12 + ids[12:]})
    items = [
        {"chosen": samples[2 * i], "rejected": samples[2 * i + 1], "ref_logps": [-1.0, -2.0]}
        for i in range(SAMPLES // 2)
    ]
    return model, samples, items


def _per_sample_logps(model, batch):
    """The previous DPO log-probs: the chunked cross-entropy once per sample."""
    import torch

    from redstar.train.loss import linear_cross_entropy

    hidden = model.model(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).last_hidden_state
    head = model.get_output_embeddings()
    cu = batch["cu_seqlens"].tolist()
    out, counts = [], []
    for a, b in zip(cu, cu[1:]):
        nll, k = linear_cross_entropy(hidden[:, a:b], head.weight, batch["labels"][:, a:b])
        out.append(-nll)
        counts.append(k)
    return torch.stack(out), torch.tensor(counts)


def measure(kind: str) -> dict:
    from redstar.train.dpo import DPOLossConfig, collate_pairs, make_loss_fn
    from redstar.train.loss import causal_lm_loss
    from redstar.train.memory import TensorMemory
    from redstar.train.packing import collate_packed

    model, samples, items = _setup()
    if kind == "sft":
        batch, fn = collate_packed(samples), causal_lm_loss
    elif kind == "dpo":
        batch, fn = collate_pairs(items), make_loss_fn(DPOLossConfig())
    elif kind == "dpo_per_sample":
        batch, fn = collate_pairs(items), make_loss_fn(DPOLossConfig(), _per_sample_logps)
    else:
        raise ValueError(f"unknown kind {kind!r}")
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    with TensorMemory() as mem:
        loss, n, _ = fn(model, batch)
        (loss / n).backward()
    dt = time.perf_counter() - t0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "kind": kind,
        "tensor_peak_mib": mem.peak_bytes / 2**20,
        "rss_growth_mib": (rss1 - rss0) / 1024,
        "seconds": dt,
        "tokens": int(batch["input_ids"].numel()),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--kinds", default="sft,dpo,dpo_per_sample")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_dpo_memory.md"))
    ap.add_argument("--one", help=argparse.SUPPRESS)  # a child process: measure one kind
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one)))
        return 0
    rows: dict[str, list[dict]] = {}
    for _ in range(args.repeats):
        for kind in args.kinds.split(","):
            p = subprocess.run([sys.executable, __file__, "--one", kind], capture_output=True, text=True, check=True)
            rows.setdefault(kind, []).append(json.loads(p.stdout.strip().splitlines()[-1]))
    sft = statistics.median(r["tensor_peak_mib"] for r in rows["sft"]) if "sft" in rows else None
    lines = [
        "# DPO step peak memory against an SFT step over the same sequences",
        "",
        f"Model: Qwen2 shape, 1 layer, hidden {HIDDEN}, vocabulary {VOCAB} (tied head), random weights;",
        f"one pack of {SAMPLES} samples ({SAMPLES // 2} pairs), {rows[next(iter(rows))][0]['tokens']} tokens; "
        f"fp32, forward + backward.",
        f"Machine: {platform.machine()} CPU, {__import__('os').cpu_count()} cores (shared). "
        f"Medians of {args.repeats} runs (min-max), each in a fresh process.",
        "Command: `python bench/bench_dpo_memory.py`",
        "",
        "| step | tensor peak MiB | vs SFT | RSS growth MiB | seconds |",
        "|---|---|---|---|---|",
    ]
    for kind, rs in rows.items():
        peak = statistics.median(r["tensor_peak_mib"] for r in rs)
        ratio = f"{peak / sft:.2f}x" if sft else "-"
        lines.append(
            f"| {kind} | {mmm([r['tensor_peak_mib'] for r in rs])} | {ratio} | "
            f"{mmm([r['rss_growth_mib'] for r in rs])} | "
            f"{statistics.median(r['seconds'] for r in rs):.1f} |"
        )
    lines += [
        "",
        "`dpo_per_sample` is the method before the one-pass log-probs (one fp32 [V, H] weight "
        "gradient kept per sample); `dpo` is the current `redstar.train.dpo.sequence_logps`.",
    ]
    from redstar.dataio import atomic_write_text

    atomic_write_text(args.out, "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

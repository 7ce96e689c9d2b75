"""VL SFT throughput with and without packing (geo.collate), on geometry diagrams + long answers.

    python bench/geo_vl_throughput.py --shape tiny --device cpu           # CI-sized, any machine
    python bench/geo_vl_throughput.py --shape 2b --device cuda --budget 8192 --steps 20

``--shape 2b`` builds a randomly initialised model with Qwen2-VL-2B's configuration (no
download: throughput does not depend on the weights). Samples are generated geometry problems
whose answers are padded with filler reasoning to log-normal lengths (long-CoT-like), each
with one diagram. Both modes see the same samples in the same order and train with the same
loss (geo.sft.vl_lm_loss): "packed" = best-fit packs of ``--budget`` tokens, "padded" =
batches of ``--batch`` samples padded to the longest. Reported: real (non-pad) tokens per
second over forward + backward + optimizer step, and the padding fraction. The two modes run
interleaved `--repeats` times (default 3); each is reported as median (min-max), and the speed-up
as the median (min-max) of the per-repeat ratios.
Results go to bench/results/geo_vl_throughput.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import QWEN2_SHAPES, mmm  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def build(shape: str, device: str):
    from redstar.models import tiny_vl_model

    model, proc = tiny_vl_model("qwen2_vl")
    if shape == "2b":
        from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

        tok = proc.tokenizer
        lm = QWEN2_SHAPES["qwen2-vl-2b"]
        cfg = Qwen2VLConfig(
            text_config=dict(
                lm._asdict(),
                max_position_embeddings=32768,
                rope_scaling={"type": "mrope", "mrope_section": [16, 24, 24]},
                tie_word_embeddings=True,
                pad_token_id=tok.pad_token_id,
            ),
            # the vision tower is the same at every size (the config's defaults); it projects to the LM's width
            vision_config=dict(hidden_size=lm.hidden_size),
            image_token_id=tok.convert_tokens_to_ids("<|image_pad|>"),
            video_token_id=tok.convert_tokens_to_ids("<|video_pad|>"),
            vision_start_token_id=tok.convert_tokens_to_ids("<|vision_start|>"),
            vision_end_token_id=tok.convert_tokens_to_ids("<|vision_end|>"),
        )
        model = Qwen2VLForConditionalGeneration(cfg).to(torch.bfloat16)
    return model.to(device), proc


def samples(proc, n: int, median: int, seed: int) -> list[dict]:
    from geo.collate import encode_chat
    from geo.generator import generate

    rng = random.Random(seed)
    rows, imgs = generate(n, seed=seed)
    filler = " Let me check the angle relations again, step by step."
    out = []
    for r, im in zip(rows, imgs):
        target = int(min(4 * median, max(32, rng.lognormvariate(0, 0.6) * median)))
        reply = r["solution"] + filler * max(0, target // 12)
        msgs = [{"role": "user", "content": "<image>\n" + r["question"]}, {"role": "assistant", "content": reply}]
        out.append(encode_chat(msgs, [im], proc))
    return out


def run_mode(model, proc, exs, plan, pack: bool, device: str, steps: int) -> dict:
    from geo.collate import VLCollator
    from geo.sft import vl_lm_loss

    collate = VLCollator(proc, model, pack=pack)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-6)
    real = computed = 0
    t_total = 0.0
    for i, idx in enumerate(plan[: steps + 1]):
        batch = collate([exs[j] for j in idx])
        batch = {k: (v.to(device) if torch.is_tensor(v) and k != "cu_seqlens" else v) for k, v in batch.items()}
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=device.startswith("cuda")):
            loss, n, _ = vl_lm_loss(model, batch)
        (loss / max(n, 1)).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        if i == 0:
            continue  # warm-up step (kernel selection, allocator)
        t_total += time.perf_counter() - t0
        real += sum(len(exs[j]["input_ids"]) for j in idx)
        computed += batch["input_ids"].numel()
    return {
        "real_tokens_per_s": real / t_total,
        "padding_fraction": 1 - real / computed,
        "steps": min(steps, len(plan) - 1),
        "seconds": t_total,
    }


def main() -> int:
    from redstar.train.attention import choose_attention, set_attention
    from redstar.train.packing import best_fit_pack

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", choices=["tiny", "2b"], default="tiny")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--samples", type=int, default=48)
    ap.add_argument("--median", type=int, default=256, help="median answer length in tokens")
    ap.add_argument("--budget", type=int, default=2048, help="tokens per pack")
    ap.add_argument("--batch", type=int, default=4, help="samples per padded batch")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3, help="interleaved repeats of both modes")
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    model, proc = build(args.shape, args.device)
    attn = choose_attention("auto", args.device)
    set_attention(model, attn)
    model.gradient_checkpointing_enable(
        gradient_checkpointing_kwargs={"use_reentrant": False}
    ) if args.shape == "2b" else None
    exs = samples(proc, args.samples, args.median, args.seed)
    lengths = [len(e["input_ids"]) for e in exs]
    packs = best_fit_pack(lengths, max(args.budget, max(lengths)), seed=args.seed)
    order = list(range(len(exs)))
    padded = [order[i : i + args.batch] for i in range(0, len(order), args.batch)]
    res = {
        "shape": args.shape,
        "device": torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu",
        "attention": attn,
        "samples": len(exs),
        "mean_len": sum(lengths) / len(lengths),
        "budget": args.budget,
        "batch": args.batch,
        "repeats": args.repeats,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores (shared with other jobs)",
    }
    runs = {"packed": [], "padded": []}
    for _ in range(args.repeats):
        runs["packed"].append(run_mode(model, proc, exs, packs, True, args.device, args.steps))
        runs["padded"].append(run_mode(model, proc, exs, padded, False, args.device, args.steps))
    for m, rs in runs.items():
        res[m] = dict(
            rs[0],
            all_real_tokens_per_s=[r["real_tokens_per_s"] for r in rs],
            real_tokens_per_s=statistics.median(r["real_tokens_per_s"] for r in rs),
        )
    res["all_speedups"] = [
        a["real_tokens_per_s"] / b["real_tokens_per_s"] for a, b in zip(runs["packed"], runs["padded"])
    ]
    res["speedup"] = statistics.median(res["all_speedups"])

    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"geo_vl_throughput_{args.shape}"
    (RESULTS / f"{name}.json").write_text(json.dumps(res, indent=2) + "\n")
    cfg = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    md = (
        f"# VL SFT throughput ({args.shape}, {res['device']}, attention {attn})\n\n"
        f"Command: `python bench/geo_vl_throughput.py --shape {args.shape} --device {args.device} "
        f"--repeats {args.repeats}`. Machine: {res['machine']}. Model: random Qwen2-VL-shaped, text hidden "
        f"{cfg.hidden_size}, {cfg.num_hidden_layers} layers, vocab {cfg.vocab_size}.\n\n"
        f"{res['samples']} synthetic samples (generated geometry problems with filler reasoning), mean "
        f"{res['mean_len']:.0f} tokens (one diagram each); packs of {args.budget} tokens vs padded batches of "
        f"{args.batch}. Median (min-max) of {args.repeats} interleaved repeats.\n\n"
        "| mode | real tokens/s | padding | steps |\n|---|---|---|---|\n"
        + "".join(
            f"| {m} | {mmm(res[m]['all_real_tokens_per_s'], '{:.0f}')} | {res[m]['padding_fraction']:.1%} | "
            f"{res[m]['steps']} |\n"
            for m in ("packed", "padded")
        )
        + f"\nspeedup packed / padded, per repeat: {mmm(res['all_speedups'], '{:.2f}')}x "
        f"(repeats: {', '.join(f'{x:.2f}' for x in res['all_speedups'])})\n"
    )
    (RESULTS / f"{name}.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""GPU readiness check: one script, no internet, about 10 minutes on one H100 / H200.

    python bench/gpu_check.py                 # writes bench/results/gpu_check.md
    python bench/gpu_check.py --dry-run       # the plan (shapes, lengths, sections); no GPU needed
    python bench/gpu_check.py --smoke --out /tmp/gpu_check.md   # every section on the CPU at toy
                                              # sizes: checks the script before GPU time is spent

Every model is built from its published configuration with random weights (throughput and
memory do not depend on the weights, so nothing is downloaded). Each measurement runs in a
fresh child process, so one section's allocator state never inflates another's peak.

Sections:

1. ``sft``: SFT on a Qwen2.5-0.5B shape over long-tailed sample lengths (log-normal, clipped to
   128-8192 tokens), packed into ``--pack-len`` token micro-batches. redstar's engine (the
   ``Trainer`` with its defaults: fp32 masters, bf16 autocast, gradient checkpointing, chunked
   or Liger cross-entropy, packed attention) against TRL's best single-GPU configuration in the
   same run (``SFTTrainer`` with BFD packing, padding-free, Liger, bf16, gradient
   checkpointing, the same attention kernel) on the same token ids: tokens/s, MFU and peak
   memory. The goal: at least 1.5x TRL's tokens/s at no more peak memory.
2. ``dpo``: peak memory of one DPO step against one SFT step over the same sequences on a
   Qwen2.5-1.5B shape (the DPO log-probs of a pack are one chunked head pass).
3. ``vl``: vision-language SFT on a Qwen2-VL-2B shape, packed against padded
   (``bench/geo_vl_throughput.py``'s samples and loop): real tokens/s and peak memory.
4. ``equal``: a packed batch gives the same per-sample losses and gradients as the samples run
   one by one, under flash-attn (when installed) and flex attention.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from bench.common import QWEN2_SHAPES, QWEN25_REST, Qwen2Shape, random_qwen2, timed_run_config  # noqa: E402

RESULTS = HERE / "results"
SECTIONS = ("sft", "dpo", "vl", "equal")
# the --smoke stand-in for every published shape
TOY = Qwen2Shape(4096, 64, 128, 2, 4, 2)
# Dense bf16 tensor-core peak (TFLOPS, no sparsity) by the name nvidia-smi reports, the most
# specific first: the H100 PCIe and NVL parts run lower clocks than the SXM5 part ("H100 80GB
# HBM3"), the H200 NVL likewise; NVIDIA's data sheets.
PEAK_TFLOPS = (
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H200 NVL", 835.0),
    ("H200", 989.0),  # H200 SXM, GH200
    ("H100", 989.0),  # H100 SXM5
    ("A100", 312.0),
    ("L40S", 362.0),
    ("L40", 181.0),
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", default=str(RESULTS / "gpu_check.md"))
    ap.add_argument("--dry-run", action="store_true", help="print the plan and exit (no GPU needed)")
    ap.add_argument("--sections", default=",".join(SECTIONS), help=f"comma list of {', '.join(SECTIONS)}")
    ap.add_argument("--samples", type=int, default=256, help="SFT samples (long-tailed lengths)")
    ap.add_argument("--min-len", type=int, default=128)
    ap.add_argument("--max-len", type=int, default=8192)
    ap.add_argument("--median-len", type=int, default=1024)
    ap.add_argument("--pack-len", type=int, default=16384, help="tokens per packed micro-batch")
    ap.add_argument("--steps", type=int, default=12, help="timed optimizer steps per SFT run (after 2 warm-up)")
    ap.add_argument("--dpo-pairs", type=int, default=8)
    ap.add_argument("--vl-steps", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--section-timeout", type=int, default=240, help="seconds per child process")
    ap.add_argument(
        "--smoke",
        action="store_true",
        help="run every section on the CPU with toy shapes and lengths (no figures worth quoting)",
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.smoke:
        args.samples, args.min_len, args.median_len, args.max_len, args.pack_len = 48, 16, 64, 256, 512
        args.steps, args.dpo_pairs, args.vl_steps = 1, 2, 1
    unknown = set(args.sections.split(",")) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown section(s) {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    if not 0 < args.min_len <= args.median_len <= args.max_len <= args.pack_len:
        ap.error("need 0 < --min-len <= --median-len <= --max-len <= --pack-len")
    return args


def sample_lengths(n: int, lo: int, hi: int, median: int, seed: int) -> list[int]:
    """Long-tailed (log-normal, sigma 1) lengths clipped to [lo, hi]: mostly short, a few at hi."""
    import random

    rng = random.Random(seed)
    return [int(min(hi, max(lo, rng.lognormvariate(math.log(median), 1.0)))) for _ in range(n)]


def plan(args: argparse.Namespace) -> dict:
    lengths = sample_lengths(args.samples, args.min_len, args.max_len, args.median_len, args.seed)
    ordered = sorted(lengths)
    return {
        "sections": args.sections.split(","),
        "sft": {
            "shape": "qwen2.5-0.5b",
            "samples": len(lengths),
            "tokens": sum(lengths),
            "length_p50": ordered[len(ordered) // 2],
            "length_p90": ordered[int(0.9 * (len(ordered) - 1))],
            "length_max": ordered[-1],
            "pack_len": args.pack_len,
            "timed_steps": args.steps,
            "against": "TRL SFTTrainer: packing bfd, padding-free, liger, bf16, gradient checkpointing",
        },
        "dpo": {"shape": "qwen2.5-1.5b", "pairs": args.dpo_pairs},
        "vl": {"shape": "qwen2-vl-2b", "steps": args.vl_steps},
        "equal": {"kernels": ["flash_attention_2 (if flash-attn is installed)", "flex_attention"]},
        "out": args.out,
    }


# ----------------------------------------------------------------------------- children (GPU)


def _device(args) -> str:
    return "cpu" if args.smoke else "cuda"


def _shape(name: str, args) -> dict:
    """The published configuration, or a toy one of the same family under --smoke."""
    return dict((TOY if args.smoke else QWEN2_SHAPES[name])._asdict(), **QWEN25_REST)


def _sync(dev: str) -> None:
    import torch

    if dev == "cuda":
        torch.cuda.synchronize()


def _reset_peak(dev: str) -> int:
    import torch

    if dev != "cuda":
        return 0
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    return torch.cuda.memory_allocated()


def _peak_gib(dev: str, base: int = 0) -> float | None:
    import torch

    return (torch.cuda.max_memory_allocated() - base) / 2**30 if dev == "cuda" else None


def _attention(dev: str) -> str:
    from transformers import Qwen2ForCausalLM

    from redstar.train.attention import choose_attention

    return choose_attention("auto", dev, Qwen2ForCausalLM)


def _examples(args) -> list[dict]:
    import torch

    g = torch.Generator().manual_seed(args.seed)
    vocab = _shape("qwen2.5-0.5b", args)["vocab_size"]
    return [
        {"input_ids": (ids := torch.randint(100, vocab - 100, (n,), generator=g).tolist()), "labels": ids}
        for n in sample_lengths(args.samples, args.min_len, args.max_len, args.median_len, args.seed)
    ]


def peak_tflops(name: str) -> float:
    """The card's dense bf16 peak from its name (``PEAK_TFLOPS``); 0.0 when unknown (no MFU)."""
    return next((t for key, t in PEAK_TFLOPS if key.lower() in name.lower()), 0.0)


def gpu_name() -> str:
    """The name nvidia-smi gives the first visible GPU (it tells the H100 SXM part, "H100 80GB
    HBM3", from the PCIe and NVL parts); torch's device name where nvidia-smi is missing."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip()
    cmd = ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"] + (["-i", visible] if visible else [])
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=True).stdout.strip()
        if out:
            return out.splitlines()[0].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    import torch

    return torch.cuda.get_device_name() if torch.cuda.is_available() else ""


def _peak_tflops() -> float:
    import torch

    return peak_tflops(gpu_name()) if torch.cuda.is_available() else 0.0


def attention_span(lengths: list[int]) -> float:
    """Mean causal attention span per token of a sample set, sum(n^2) / sum(n)."""
    return sum(n * n for n in lengths) / max(1, sum(lengths))


def train_flops(n_params: int, tokens: float, span: float, cfg: dict) -> float:
    """Model FLOPs of a training step over ``tokens``, one definition for every trainer:
    6 x matmul parameters per token, plus causal attention, 6 x layers x hidden x span per token
    (QK^T and AV, 2 n^2 d each, halved by the causal mask, x3 for forward and backward).
    Gradient-checkpointing recomputation is not counted (model FLOPs, not hardware FLOPs)."""
    return 6.0 * n_params * tokens + 6.0 * cfg["num_hidden_layers"] * cfg["hidden_size"] * span * tokens


def mfu(flops: float, seconds: float, peak: float) -> float | None:
    return flops / seconds / (peak * 1e12) if peak and seconds > 0 else None


def child_sft_ours(args, strategy: str = "torch") -> dict:
    """redstar's engine, one GPU: the torch strategy (fp32 masters, bf16 autocast) or DeepSpeed
    ZeRO-3 (bf16 weights partitioned at load, fp32 masters in its optimizer)."""
    import tempfile

    from redstar.train.engine import PlanLoader, Trainer, load_settings, matmul_params
    from redstar.train.loss import causal_lm_loss
    from redstar.train.packing import best_fit_pack, collate_packed

    dev = _device(args)
    attn = _attention(dev)
    shape = _shape("qwen2.5-0.5b", args)
    if strategy == "deepspeed":  # a one-process group, as a launcher would set up
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        for k, v in {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1"}.items():
            os.environ.setdefault(k, v)
        os.environ.setdefault("MASTER_PORT", str(port))
    exs = _examples(args)
    lengths = [len(e["input_ids"]) for e in exs]
    packs = best_fit_pack(lengths, args.pack_len, seed=args.seed)
    steps = min(len(packs), args.steps + 2)
    out = tempfile.mkdtemp(prefix="gpu_check_sft_")
    cfg = timed_run_config(
        lr=1e-5,
        max_steps=steps,
        grad_accum=1,
        dtype="float32" if args.smoke else "bfloat16",
        gradient_checkpointing=True,
        device=dev,
        save_every=0,
        strategy=strategy,
        **({"zero_stage": 3} if strategy == "deepspeed" else {}),
    )
    _reset_peak(dev)
    import torch

    dtype, hold = load_settings(cfg, 1)  # ZeRO-3: the model is partitioned as it is built
    model = random_qwen2(shape, attn, dev, dtype=getattr(torch, dtype))
    Trainer(model, causal_lm_loss, PlanLoader(exs, lambda e: packs, collate_packed), cfg, out).train()
    del hold
    rows = [json.loads(line) for line in (Path(out) / "metrics.jsonl").read_text().splitlines()][2:]
    if not rows:
        raise SystemExit(f"{len(packs)} packs: too few for 2 warm-up steps and a timed one (raise --samples)")
    secs = sum(r["step_time_s"] for r in rows)
    toks = sum(r["tokens_per_s"] * r["step_time_s"] for r in rows)
    n_params = matmul_params(random_qwen2(shape, None, "meta"))  # the full count (ZeRO-3 shards the model)
    return {
        "attention": attn,
        "strategy": strategy if strategy == "torch" else "deepspeed zero-3",
        "tokens_per_s": toks / secs,
        "mfu": mfu(train_flops(n_params, toks, attention_span(lengths), shape), secs, _peak_tflops()),
        "peak_gib": _peak_gib(dev),
        "steps": len(rows),
        "tokens": toks,
    }


def child_sft_zero3(args) -> dict:
    return child_sft_ours(args, "deepspeed")


def child_sft_trl(args) -> dict:
    import dataclasses
    import importlib.util
    import tempfile

    try:
        from datasets import Dataset
        from trl import SFTConfig, SFTTrainer
    except ImportError as e:
        return {"skipped": f"TRL not installed ({e}); pip install 'redstar[bench]'"}
    from transformers import TrainerCallback

    from redstar.models import tiny_tokenizer
    from redstar.train.packing import best_fit_pack

    dev = _device(args)
    attn = _attention(dev)
    model = random_qwen2(_shape("qwen2.5-0.5b", args), attn, dev)
    exs = _examples(args)
    lengths = [len(e["input_ids"]) for e in exs]
    steps = min(len(best_fit_pack(lengths, args.pack_len)), args.steps + 2)
    fields = {f.name for f in dataclasses.fields(SFTConfig)}
    wanted = dict(
        output_dir=tempfile.mkdtemp(prefix="gpu_check_trl_"),
        max_steps=steps,
        per_device_train_batch_size=1,
        gradient_accumulation_steps=1,
        learning_rate=1e-5,
        bf16=not args.smoke,
        gradient_checkpointing=True,
        gradient_checkpointing_kwargs={"use_reentrant": False},
        packing=True,
        packing_strategy="bfd",
        padding_free=True,
        max_length=args.pack_len,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        use_liger_kernel=not args.smoke and importlib.util.find_spec("liger_kernel") is not None,
        use_cpu=args.smoke,
        dataset_num_proc=1,
        seed=args.seed,
        lr_scheduler_type="constant",
        warmup_ratio=0.0,
    )
    config = SFTConfig(**{k: v for k, v in wanted.items() if k in fields})

    class Timer(TrainerCallback):
        def __init__(self):
            self.times, self.t0 = [], None

        def on_step_begin(self, a, state, control, **kw):
            _sync(dev)
            self.t0 = time.perf_counter()

        def on_step_end(self, a, state, control, **kw):
            _sync(dev)
            self.times.append(time.perf_counter() - self.t0)

    timer = Timer()
    tok = tiny_tokenizer()
    data = Dataset.from_dict({"input_ids": [e["input_ids"] for e in exs]})
    _reset_peak(dev)
    trainer = SFTTrainer(model=model, args=config, train_dataset=data, processing_class=tok, callbacks=[timer])
    trainer.train()
    # tokens of the timed steps: TRL's own count where it logs one (num_tokens, cumulative),
    # else the same BFD packs redstar makes (labelled in the result)
    logged = [h["num_tokens"] for h in trainer.state.log_history if "num_tokens" in h]
    if len(logged) >= len(timer.times):
        toks, counted = logged[len(timer.times) - 1] - logged[1], "TRL num_tokens"
    else:
        packs = best_fit_pack(lengths, args.pack_len)
        toks, counted = sum(lengths[i] for p in packs[2 : len(timer.times)] for i in p), "redstar BFD packs"
    secs = sum(timer.times[2:])
    from redstar.train.engine import matmul_params

    flops = train_flops(matmul_params(model), toks, attention_span(lengths), _shape("qwen2.5-0.5b", args))
    return {
        "attention": attn,
        "tokens_per_s": toks / secs,
        "mfu": mfu(flops, secs, _peak_tflops()),
        "peak_gib": _peak_gib(dev),
        "steps": len(timer.times) - 2,
        "tokens_counted_by": counted,
        "config": {k: v for k, v in wanted.items() if k in fields and k != "output_dir"},
    }


def child_dpo(args) -> dict:
    import torch

    from redstar.train.dpo import DPOLossConfig, collate_pairs, make_loss_fn
    from redstar.train.loss import causal_lm_loss
    from redstar.train.memory import TensorMemory
    from redstar.train.packing import collate_packed

    dev = _device(args)
    shape = _shape("qwen2.5-1.5b", args)
    model = random_qwen2(shape, _attention(dev), dev)
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    g = torch.Generator().manual_seed(args.seed)
    vocab = shape["vocab_size"]
    lens = sample_lengths(
        2 * args.dpo_pairs, 128, 2048 if not args.smoke else 256, 768 if not args.smoke else 96, args.seed
    )
    samples = [
        {
            "input_ids": (ids := torch.randint(100, vocab - 100, (n,), generator=g).tolist()),
            "labels": [-100] * 64 + ids[64:],
        }
        for n in lens
    ]
    items = [
        {"chosen": samples[2 * i], "rejected": samples[2 * i + 1], "ref_logps": [-1.0, -2.0]}
        for i in range(args.dpo_pairs)
    ]
    out = {}
    for name, batch, fn in (
        ("sft", collate_packed(samples), causal_lm_loss),
        ("dpo", collate_pairs(items), make_loss_fn(DPOLossConfig())),
    ):
        batch = {k: (v.to(dev) if torch.is_tensor(v) and k != "cu_seqlens" else v) for k, v in batch.items()}
        model.zero_grad(set_to_none=True)
        base = _reset_peak(dev)
        with TensorMemory() if dev == "cpu" else torch.autocast("cuda", dtype=torch.bfloat16) as mem:
            loss, n, _ = fn(model, batch)
            (loss / n).backward()
        _sync(dev)
        out[f"{name}_peak_gib"] = _peak_gib(dev, base) if dev == "cuda" else mem.peak_bytes / 2**30
    out["ratio"] = out["dpo_peak_gib"] / out["sft_peak_gib"]
    out["tokens"] = sum(lens)
    return out


def child_vl(args) -> dict:
    from bench import geo_vl_throughput as vl
    from geo.sft import vl_model_class
    from redstar.train.attention import choose_attention, set_attention
    from redstar.train.packing import best_fit_pack

    dev = _device(args)
    model, proc = vl.build("tiny" if args.smoke else "2b", dev)
    attn = choose_attention("auto", dev, vl_model_class("tiny:qwen2_vl"))
    set_attention(model, attn)
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    exs = vl.samples(proc, 8 if args.smoke else 48, 64 if args.smoke else 512, args.seed)
    lengths = [len(e["input_ids"]) for e in exs]
    budget = max(1024 if args.smoke else 8192, max(lengths))
    res = {"attention": attn, "samples": len(exs), "mean_len": sum(lengths) / len(lengths), "budget": budget}
    for mode, batches in (
        ("packed", best_fit_pack(lengths, budget, seed=args.seed)),
        ("padded", [list(range(i, min(i + 4, len(exs)))) for i in range(0, len(exs), 4)]),
    ):
        _reset_peak(dev)
        res[mode] = vl.run_mode(model, proc, exs, batches, mode == "packed", dev, args.vl_steps)
        res[mode]["peak_gib"] = _peak_gib(dev)
    res["speedup"] = res["packed"]["real_tokens_per_s"] / res["padded"]["real_tokens_per_s"]
    return res


def child_equal(args) -> dict:
    import torch

    from redstar.train.attention import has_flash_attn
    from redstar.train.loss import causal_lm_loss
    from redstar.train.packing import collate_packed

    dev = _device(args)
    shape = dict(_shape("qwen2.5-0.5b", args), num_hidden_layers=2)
    g = torch.Generator().manual_seed(args.seed)
    lens = (30, 65, 7, 100) if args.smoke else (300, 1025, 77, 2048)
    samples = [
        {"input_ids": (ids := torch.randint(100, shape["vocab_size"] - 100, (n,), generator=g).tolist()), "labels": ids}
        for n in lens
    ]
    res = {}
    kernels = ["sdpa"] if args.smoke else (["flash_attention_2"] if has_flash_attn() else []) + ["flex_attention"]
    for attn in kernels:
        model = random_qwen2(shape, attn, dev, torch.float32 if args.smoke else torch.bfloat16)

        def run(model, group):
            batch = {
                k: (v.to(dev) if torch.is_tensor(v) and k != "cu_seqlens" else v)
                for k, v in collate_packed(group).items()
            }
            model.zero_grad(set_to_none=True)
            loss, _, _ = causal_lm_loss(model, batch)
            loss.float().backward()
            return float(loss), model.model.layers[0].self_attn.q_proj.weight.grad.float().clone()

        packed_loss, packed_grad = run(model, samples)
        alone = [run(model, [s]) for s in samples]
        alone_loss, alone_grad = sum(a for a, _ in alone), sum(gr for _, gr in alone)
        res[attn] = {
            "loss_rel_diff": abs(packed_loss - alone_loss) / abs(alone_loss),
            "grad_rel_diff": float((packed_grad - alone_grad).norm() / alone_grad.norm()),
        }
        res[attn]["equal"] = res[attn]["loss_rel_diff"] < 1e-2 and res[attn]["grad_rel_diff"] < 5e-2
        del model
        if dev == "cuda":
            torch.cuda.empty_cache()
    return res


CHILDREN = {
    "sft-ours": child_sft_ours,
    "sft-zero3": child_sft_zero3,
    "sft-trl": child_sft_trl,
    "dpo": child_dpo,
    "vl": child_vl,
    "equal": child_equal,
}
RUNS = {"sft": ("sft-ours", "sft-zero3", "sft-trl"), "dpo": ("dpo",), "vl": ("vl",), "equal": ("equal",)}


# ----------------------------------------------------------------------------- parent


def run_child(name: str, argv: list[str], timeout: int) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), *argv, "--child", name]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    lines = [line for line in p.stdout.splitlines() if line.startswith("GPU_CHECK_RESULT ")]
    if p.returncode != 0 or not lines:
        return {"error": (p.stderr.strip().splitlines() or ["no output"])[-1][:300]}
    result = json.loads(lines[-1].removeprefix("GPU_CHECK_RESULT "))
    result["wall_s"] = time.perf_counter() - t0
    return result


def _f(x, spec=".1f") -> str:
    return "-" if x is None else format(x, spec)


def _dpo_lines(r: dict, args) -> list[str]:
    return [
        f"One step over {args.dpo_pairs} pairs ({r['tokens']} tokens), forward + backward, bf16 autocast: "
        f"DPO {r['dpo_peak_gib']:.2f} GiB, SFT over the same sequences {r['sft_peak_gib']:.2f} GiB, "
        f"ratio {r['ratio']:.2f}x (goal <= 1.5x)."
    ]


def _vl_lines(r: dict) -> list[str]:
    return [
        f"{r['samples']} samples (one diagram each), mean {r['mean_len']:.0f} tokens; attention "
        f"{r['attention']}; packs of {r['budget']} tokens against padded batches of 4.",
        "",
        "| mode | real tokens/s | padding | peak GiB |",
        "|---|---|---|---|",
        *(
            f"| {m} | {r[m]['real_tokens_per_s']:.0f} | {r[m]['padding_fraction']:.1%} | {_f(r[m]['peak_gib'])} |"
            for m in ("packed", "padded")
        ),
        f"\npacked / padded: {r['speedup']:.2f}x",
    ]


def _equal_lines(r: dict) -> list[str]:
    return [
        "| attention | loss rel. diff | grad rel. diff | equal |",
        "|---|---|---|---|",
        *(
            f"| {k} | {v['loss_rel_diff']:.1e} | {v['grad_rel_diff']:.1e} | {v['equal']} |"
            for k, v in r.items()
            if isinstance(v, dict)
        ),
    ]


def report(results: dict, info: dict, args) -> str:
    lines = [
        "# GPU check",
        "",
        f"Machine: {info['gpu']}, torch {info['torch']}, transformers {info['transformers']}, "
        f"{info['python']}. Models: published configurations with random weights. "
        f"Command: `python bench/gpu_check.py`",
        "",
    ]
    if "sft-ours" in results:
        ours, trl = results["sft-ours"], results.get("sft-trl", {})
        p = plan(args)["sft"]
        lines += [
            "## SFT: redstar against TRL (Qwen2.5-0.5B shape)",
            "",
            f"{p['samples']} samples, {p['tokens']} tokens, lengths {args.min_len}-{args.max_len} "
            f"(median {p['length_p50']}, p90 {p['length_p90']}); packs of {args.pack_len} tokens; "
            f"{args.steps} timed steps after 2 warm-up steps.",
            "",
            "| trainer | attention | tokens/s | MFU | peak GiB |",
            "|---|---|---|---|---|",
        ]
        trainers = (
            ("redstar (torch, fp32 masters)", ours),
            ("redstar (DeepSpeed ZeRO-3, 1 GPU)", results.get("sft-zero3")),
            ("TRL (bfd packing, padding-free, liger)", trl),
        )
        for name, r in trainers:
            if r is None:
                continue
            if "error" in r or "skipped" in r:
                lines.append(f"| {name} | - | {r.get('error') or r.get('skipped')} | - | - |")
            else:
                m = r.get("mfu")
                lines.append(
                    f"| {name} | {r['attention']} | {r['tokens_per_s']:.0f} | "
                    f"{_f(m * 100 if m else None)}% | {_f(r['peak_gib'])} |"
                )
        lines += [
            "",
            f"MFU, the same for every row: (6 x matmul parameters + 6 x layers x hidden x mean causal span) "
            f"FLOPs per token over the card's dense bf16 peak ({info.get('peak_tflops') or '-'} TFLOPS for "
            f"{info['gpu']}); recomputation under gradient checkpointing is not counted.",
        ]
        if all("tokens_per_s" in r for r in (ours, trl)):
            mem = f"{ours['peak_gib'] / trl['peak_gib']:.2f}x" if ours["peak_gib"] and trl["peak_gib"] else "-"
            lines += [
                "",
                f"redstar / TRL: {ours['tokens_per_s'] / trl['tokens_per_s']:.2f}x tokens/s, "
                f"{mem} peak memory (goal: >= 1.5x at <= 1.0x).",
            ]
        lines.append("")
    sections = (
        ("dpo", "## DPO step peak memory (Qwen2.5-1.5B shape)", lambda r: _dpo_lines(r, args)),
        ("vl", "## Vision-language SFT, packed against padded (Qwen2-VL-2B shape)", _vl_lines),
        ("equal", "## Packed equals unpacked", _equal_lines),
    )
    for name, title, body in sections:
        if name in results:
            r = results[name]
            lines += [title, "", *([f"error: {r['error']}"] if "error" in r else body(r)), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.child:
        result = CHILDREN[args.child](args)
        print("GPU_CHECK_RESULT " + json.dumps(result))
        return 0
    if args.dry_run:
        print(json.dumps(plan(args), indent=2))
        return 0
    import torch

    if not args.smoke and not torch.cuda.is_available():
        print(
            "gpu_check: needs a CUDA GPU (use --dry-run to see the plan, --smoke to try it on the CPU)", file=sys.stderr
        )
        return 2
    import transformers

    name = "" if args.smoke else gpu_name()
    info = {
        "gpu": "CPU smoke run (toy shapes: no figures)" if args.smoke else name,
        "peak_tflops": peak_tflops(name) if name else None,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
    }
    passthrough = [a for a in argv if a != "--dry-run"]
    results = {}
    for section in args.sections.split(","):
        for child in RUNS[section]:
            results[child] = run_child(child, passthrough, args.section_timeout)
            print(f"{child}: {json.dumps(results[child])[:400]}", flush=True)
    text = report(results, info, args)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, out)
    out.with_suffix(".json").write_text(json.dumps({"info": info, "results": results}, indent=2) + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

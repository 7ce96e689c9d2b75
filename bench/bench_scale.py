"""SFT at scale on CPU: tokenise once, memory-map everywhere (issue 24, training half).

    python bench/bench_scale.py                                  # 100k and 1,000k rows, 3 repeats
    python bench/bench_scale.py --rows 20000 --reps 1            # a quick look
    python bench/bench_scale.py --out bench/results/bench_scale.md

Synthetic SFT rows (a user question, an assistant reply whose length in words is log-normal:
median 24, sigma 1.1, so most replies are short and a long tail runs past ``max_len`` and is
dropped; one row in 50,000 is malformed JSON and skipped with ``skip_bad``) are trained with
``redstar sft`` on the tiny Qwen2 test model by two ranks (``torchrun --nproc_per_node 2``,
gloo), each to its first optimizer step (``train.max_steps=1``). For each row count and repeat:

- a *cold* run: an empty token cache, so local rank 0 tokenises every row with ``--num-proc``
  processes while rank 1 waits;
- a *warm* run: a new run directory on the same data and cache: nothing is tokenised.

Each rank records, at its first optimizer step, the seconds since the launch and its peak RSS
(``ru_maxrss``; the tokenising processes are separate processes, reported apart). The table gives
median (min-max) over the repeats, and checks the issue's targets: per-rank peak RSS at the
largest row count at most 1.25x that at the smallest, the warm run's time to the first step at
most 10% of the cold run's, and every row accounted for (read = used + malformed + too long +
without targets). Tokenising speed is rows (and tokens) per second per tokenising process.
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
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = (
    "so we add the two numbers then multiply by 3 and check the result is an integer therefore "
    "the answer is wait let me verify x + y = 12 and x - y = 4 gives x = 8"
).split()


def write_rows(path: Path, n: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with open(path, "w") as f:
        for i in range(n):
            if i % 50_000 == 49_999:
                f.write('{"messages": [{"role": "user", "content": "cut off\n')
                continue
            k = 1 + int(min(3000, rng.lognormvariate(3.2, 1.1)))
            reply = " ".join(rng.choice(WORDS) for _ in range(k)) + f" \\boxed{{{i % 97}}}"
            row = {
                "id": f"r{i}",
                "messages": [
                    {"role": "user", "content": f"Problem {i}: what is {i % 89} times {i % 13}?"},
                    {"role": "assistant", "content": reply},
                ],
            }
            f.write(json.dumps(row) + "\n")


def longcot_per_core(n_rows: int, reps: int) -> dict:
    """Tokens/s of one tokenising process (``token_cache.encode_chunk``: chat template, fast
    tokenizer, target flags) on long-CoT rows with the embedded default model's tokenizer
    (SmolLM2's 49k BPE): replies of log-normal length around 6,000 tokens, as the paper's
    1,000k rows (about 6B tokens) are. Returns the figures and the hours for 1M such rows."""
    import statistics

    from redstar.models import load_tokenizer
    from redstar.train.token_cache import ChatEncoder, encode_chunk

    tok = load_tokenizer("default")
    rng = random.Random(1)
    rows = []
    for i in range(n_rows):
        k = int(min(30000, max(500, rng.lognormvariate(8.33, 0.6))))  # words; about 1.3 tokens each
        reply = " ".join(rng.choice(WORDS) for _ in range(k)) + f" \\boxed{{{i}}}"
        rows.append(
            {"messages": [{"role": "user", "content": f"Problem {i}."}, {"role": "assistant", "content": reply}]}
        )
    enc = ChatEncoder("sft", None)
    speeds, tokens = [], 0
    for _ in range(reps):
        t = time.perf_counter()
        out = encode_chunk(rows, tok, enc)
        speeds.append(out["ids"].size / (time.perf_counter() - t))
        tokens = int(out["ids"].size)
    mean_tokens = tokens / n_rows
    hours = [1_000_000 * mean_tokens / s / 3600 for s in speeds]
    return {
        "rows": n_rows,
        "mean_tokens_per_row": mean_tokens,
        "tokens_per_s_per_core": speeds,
        "hours_per_core_for_1M_rows": hours,
        "median_tokens_per_s": statistics.median(speeds),
    }


def write_model(path: Path) -> None:
    from redstar.models import tiny_causal_lm

    model, tok = tiny_causal_lm(seed=0)
    model.save_pretrained(path)
    tok.save_pretrained(path)


def write_config(path: Path, model: Path, data: Path, out: Path, cache: Path, num_proc: int) -> None:
    path.write_text(
        f"""# schema: redstar.train.sft:SFTConfig
model: {model}
out: {out}
attn_implementation: sdpa
data:
  train: [{data}]
  max_len: 1024
  pack_len: 2048
  skip_bad: true
  cache_dir: {cache}
  num_proc: {num_proc}
train:
  max_steps: 1
  grad_accum: 1
  dtype: float32
  device: cpu
  gradient_checkpointing: false
  warmup_ratio: 0.0
  progress: false
  tensorboard: false
"""
    )


def rank_main(argv: list[str]) -> int:
    """One torchrun rank: ``redstar sft`` with a hook at the first optimizer step."""
    from redstar.cli import main
    from redstar.train import sft, tracking

    t0 = float(os.environ["BENCH_T0"])
    started = time.time() - t0  # the launcher's and this interpreter's start-up, and the imports
    from redstar.train import recipe

    report = Path(os.environ["BENCH_REPORT"])
    real_log = tracking.MetricsLogger.log
    real_cache = sft.token_cache
    real_load = recipe.load_for_training
    seen, prep, load = [], [], []

    def load_for_training(*a, **k):  # the model: its library's modules imported, then built
        t = time.time()
        out = real_load(*a, **k)
        load.append(time.time() - t)
        return out

    def token_cache(*a, **k):  # the rows to a token cache: built (cold) or opened (warm)
        t = time.time()
        out = real_cache(*a, **k)
        prep.append(time.time() - t)
        return out

    def log(self, step, metrics):
        if not seen:
            seen.append(step)
            rank = int(os.environ.get("RANK", "0"))
            (report / f"rank{rank}.json").write_text(
                json.dumps(
                    {
                        "rank": rank,
                        "seconds_to_first_step": time.time() - t0,
                        "data_seconds": sum(prep),
                        "started_seconds": started,
                        "model_seconds": sum(load),
                        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                        "children_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                    }
                )
            )
        return real_log(self, step, metrics)

    tracking.MetricsLogger.log = log
    sft.token_cache = token_cache
    recipe.load_for_training = load_for_training
    return main(["sft", *argv])


def floor_main(model: str) -> int:
    """One torchrun rank of the start-up floor: import torch and transformers, join the process
    group, load the model; nothing of redstar. Rank 0 prints the seconds since the launch."""
    import torch
    import torch.distributed as dist
    from transformers import AutoModelForCausalLM

    dist.init_process_group("gloo")
    AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32, attn_implementation="sdpa")
    dist.barrier()
    if dist.get_rank() == 0:
        print(f"FLOOR {time.time() - float(os.environ['BENCH_T0'])}", flush=True)
    dist.destroy_process_group()
    return 0


def floor(model: Path, nproc: int) -> float:
    """Seconds from the launch until every rank has imported torch and transformers, joined the
    process group and loaded the model: what any run on these libraries pays before its data."""
    env = {**os.environ, "BENCH_T0": repr(time.time()), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
    p = subprocess.run(
        [*cmd, str(Path(__file__).resolve()), "--floor-hook", str(model)], env=env, capture_output=True, text=True
    )
    if p.returncode != 0:
        raise SystemExit(f"floor run failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return float(next(line for line in p.stdout.splitlines() if line.startswith("FLOOR")).split()[1])


def launch(config: Path, report: Path, nproc: int) -> dict:
    report.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "BENCH_T0": repr(time.time()), "BENCH_REPORT": str(report), "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={nproc}",
        str(Path(__file__).resolve()),
        "--rank-hook",
        str(config),
    ]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    if p.returncode != 0:
        raise SystemExit(f"run failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-5000:]}")
    ranks = [json.loads((report / f"rank{r}.json").read_text()) for r in range(nproc)]
    return {"ranks": ranks, "stdout": p.stdout[-2000:]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--nproc", type=int, default=2, help="training ranks")
    ap.add_argument("--num-proc", type=int, default=2, help="tokenising processes (data.num_proc)")
    ap.add_argument("--work", default="", help="working directory (default: a temporary one)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "bench_scale.md"))
    ap.add_argument(
        "--longcot-rows",
        type=int,
        default=0,
        help="also time one tokenising process on this many ~6k-token long-CoT rows (default tokenizer)",
    )
    ap.add_argument(
        "--from-disk",
        action="store_true",
        help="launch nothing: tabulate the repeats of an earlier run in --work that finished both phases",
    )
    ap.add_argument(
        "--floor-reps",
        type=int,
        default=0,
        help="also time this many bare launches (ranks that only import torch and transformers, join the "
        "process group and load the model): the start-up floor under the warm run",
    )
    ap.add_argument("--rank-hook", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    ap.add_argument("--floor-hook", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rank_hook is not None:
        return rank_main(args.rank_hook)
    if args.floor_hook is not None:
        return floor_main(args.floor_hook)

    from bench.common import mmm

    work = Path(args.work or tempfile.mkdtemp(prefix="bench_scale_"))
    work.mkdir(parents=True, exist_ok=True)
    model = work / "model"
    if not (model / "config.json").is_file():
        write_model(model)
    results = {}
    for n in args.rows:
        data = work / f"rows_{n}.jsonl"
        if not data.is_file() and not args.from_disk:
            t = time.time()
            write_rows(data, n)
            print(f"wrote {n} rows ({data.stat().st_size / 1e6:.0f} MB) in {time.time() - t:.0f} s", flush=True)
        runs = []
        for rep in range(args.reps):
            cache = work / f"cache_{n}_{rep}"
            one = {}
            for phase in ("cold", "warm"):
                out = work / f"run_{n}_{rep}_{phase}"
                report = work / f"report_{n}_{rep}_{phase}"
                if args.from_disk:
                    files = [report / f"rank{r}.json" for r in range(args.nproc)]
                    if not all(f.is_file() for f in files) or not (out / "data_stats.json").is_file():
                        break
                    one[phase] = {"ranks": [json.loads(f.read_text()) for f in files]}
                else:
                    cfg = work / f"sft_{n}_{rep}_{phase}.yaml"
                    write_config(cfg, model, data, out, cache, args.num_proc)
                    one[phase] = launch(cfg, report, args.nproc)
                one[phase]["data"] = json.loads((out / "data_stats.json").read_text())
                r = one[phase]["ranks"]
                print(
                    f"{n} rows rep {rep + 1} {phase}: first step after "
                    + ", ".join(f"{x['seconds_to_first_step']:.1f} s" for x in r)
                    + "; peak RSS "
                    + ", ".join(f"{x['peak_rss_mb']:.0f} MB" for x in r),
                    flush=True,
                )
            if "warm" not in one:
                continue
            meta = json.loads((Path(one["cold"]["data"]["token_cache"]) / "meta.json").read_text())
            one["build_seconds"] = meta["build_seconds"]
            one["num_proc"] = meta["num_proc"]
            runs.append(one)
        if runs:
            results[n] = runs

    lines = [
        "# bench_scale: SFT on 100k and 1,000k rows, two CPU ranks, to the first optimizer step",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared with other jobs), "
        f"Python {platform.python_version()}; tiny Qwen2 test model (hidden 64, 2 layers, vocab 512); "
        f"2 ranks (torchrun, gloo); tokenising processes (data.num_proc): {args.num_proc}; max_len 1024, "
        f"pack_len 2048. Median (min-max) of the repeats: "
        + ", ".join(f"{len(runs)} at {n:,} rows" for n, runs in results.items())
        + ".",
        "",
        f"Command: `python bench/bench_scale.py --rows {' '.join(map(str, args.rows))} --reps {args.reps} "
        f"--num-proc {args.num_proc}`"
        + (
            f" (this table: `--from-disk --longcot-rows {args.longcot_rows}` on that run's work directory)"
            if args.from_disk
            else ""
        ),
        "",
        "| rows | cold: s to 1st step | warm: s to 1st step | warm / cold | data s, cold | data s, warm "
        "| rows/s per tokenising process | tokens/s per process | peak RSS per rank, cold (MB) "
        "| peak RSS per rank, warm (MB) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    summary = {}
    for n, runs in results.items():
        cold = [max(x["seconds_to_first_step"] for x in r["cold"]["ranks"]) for r in runs]
        warm = [max(x["seconds_to_first_step"] for x in r["warm"]["ranks"]) for r in runs]
        ratio = [w / c for w, c in zip(warm, cold)]
        build = [r["build_seconds"] for r in runs]
        data_cold = [max(x["data_seconds"] for x in r["cold"]["ranks"]) for r in runs]
        data_warm = [max(x["data_seconds"] for x in r["warm"]["ranks"]) for r in runs]
        stats = runs[0]["cold"]["data"]
        per_proc = [stats["rows"] / b / r["num_proc"] for b, r in zip(build, runs)]
        tok_per_proc = [stats["tokens"] / b / r["num_proc"] for b, r in zip(build, runs)]
        rss_cold = [max(x["peak_rss_mb"] for x in r["cold"]["ranks"]) for r in runs]
        rss_warm = [max(x["peak_rss_mb"] for x in r["warm"]["ranks"]) for r in runs]
        summary[n] = {
            "cold_s": cold,
            "warm_s": warm,
            "warm_over_cold": ratio,
            "build_s": build,
            "data_cold_s": data_cold,
            "data_warm_s": data_warm,
            "rows_per_s_per_proc": per_proc,
            "tokens_per_s_per_proc": tok_per_proc,
            "peak_rss_cold_mb": rss_cold,
            "peak_rss_warm_mb": rss_warm,
            "tokeniser_children_peak_rss_mb": [
                max(x["children_peak_rss_mb"] for x in r["cold"]["ranks"]) for r in runs
            ],
            "warm_breakdown_s": {
                k: [max(x.get(f"{k}_seconds", float("nan")) for x in r["warm"]["ranks"]) for r in runs]
                for k in ("started", "data", "model")
            },
            "data": {k: stats[k] for k in ("rows_read", "used", "bad_rows", "too_long", "no_targets", "tokens")},
        }
        lines.append(
            f"| {n:,} | {mmm(cold, '{:.1f}')} | {mmm(warm, '{:.1f}')} | {mmm(ratio, '{:.3f}')} "
            f"| {mmm(data_cold, '{:.1f}')} | {mmm(data_warm, '{:.2f}')} "
            f"| {mmm(per_proc)} | {mmm(tok_per_proc)} | {mmm(rss_cold)} | {mmm(rss_warm)} |"
        )
    lines += [
        "",
        "Data s: seconds a rank spends from the start of the data step to holding its memory-mapped rows "
        "(cold: tokenising every row, or waiting for local rank 0 to; warm: opening the cache). Rows/s and "
        "tokens/s per tokenising process: rows (tokens) over the build's wall time, divided by data.num_proc.",
    ]
    lines += ["", "Every row accounted for (read = used + malformed + over max_len + without targets):", ""]
    for n, s in summary.items():
        d = s["data"]
        ok = d["rows_read"] == d["used"] + d["bad_rows"] + d["too_long"] + d["no_targets"]
        lines.append(
            f"- {n:,} rows: read {d['rows_read']:,} = used {d['used']:,} + malformed {d['bad_rows']:,} "
            f"+ over max_len {d['too_long']:,} + without targets {d['no_targets']:,} ({'yes' if ok else 'NO'}); "
            f"{d['tokens']:,} tokens"
        )
    small, large = min(summary), max(summary)
    if small != large:
        import statistics

        growth = statistics.median(summary[large]["peak_rss_cold_mb"]) / statistics.median(
            summary[small]["peak_rss_cold_mb"]
        )
        growth_w = statistics.median(summary[large]["peak_rss_warm_mb"]) / statistics.median(
            summary[small]["peak_rss_warm_mb"]
        )
        lines += [
            "",
            f"Per-rank peak RSS, {large:,} over {small:,} rows (medians): cold {growth:.2f}x, warm {growth_w:.2f}x "
            f"(target <= 1.25x).",
        ]
    for n, s in summary.items():
        lines.append(
            f"Warm over cold time to the first step at {n:,} rows: {mmm(s['warm_over_cold'], '{:.3f}')} (target <= 0.10)."
        )
    for n, s in summary.items():
        b = s["warm_breakdown_s"]
        if any(v != v for v in b["started"]):  # nan: a run from before the breakdown was recorded
            continue
        rest = [w - a - d - m for w, a, d, m in zip(s["warm_s"], b["started"], b["data"], b["model"])]
        lines.append(
            f"Warm run at {n:,} rows, where its time to the first step goes (slowest rank): launcher, "
            f"interpreter and imports {mmm(b['started'], '{:.1f}')} s, data {mmm(b['data'], '{:.2f}')} s, model "
            f"(its library's modules imported, then built) {mmm(b['model'], '{:.1f}')} s, the rest (tokenizer, "
            f"process group, first step) {mmm(rest, '{:.1f}')} s."
        )
    if args.floor_reps:
        floors = [floor(model, args.nproc) for _ in range(args.floor_reps)]
        summary["startup_floor_s"] = floors
        lines += [
            "",
            f"Start-up floor, {args.floor_reps} bare launches (torchrun, {args.nproc} ranks that import torch and "
            f"transformers, join the process group and load the model; nothing of redstar): "
            f"{mmm(floors, '{:.1f}')} s to the last rank's barrier.",
        ]
    if args.longcot_rows:
        from bench.common import mmm as _mmm

        lc = longcot_per_core(args.longcot_rows, args.reps)
        summary["longcot_per_core"] = lc
        lines += [
            "",
            f"Long-CoT tokenising, one process: {lc['rows']} rows of {lc['mean_tokens_per_row']:.0f} tokens on "
            f"average (SmolLM2 tokenizer): {_mmm(lc['tokens_per_s_per_core'])} tokens/s, so 1,000k such rows "
            f"(~{lc['mean_tokens_per_row'] / 1000:.1f}B tokens) take {_mmm(lc['hours_per_core_for_1M_rows'], '{:.1f}')} "
            "core-hours.",
        ]
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    Path(args.out).with_suffix(".json").write_text(json.dumps({str(k): v for k, v in summary.items()}, indent=2))
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

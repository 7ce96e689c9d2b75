"""Peak memory and time of curation prep (load, dedup, decontamination) at 100k and 1,000k problems.

    python bench/bench_curate_prep.py --sizes 100000 1000000 --repeats 3

Writes synthetic Problem rows (40-word questions over a 6,000-word vocabulary; 5% near
duplicates of a recent question, 1% copied from a 5,000-item synthetic benchmark; the rest
distinct) to a JSONL file per size, not timed, then runs ``data_recipes.pipeline.prep`` on it
in a fresh process per pass, with the recipe defaults: exact + MinHash LSH dedup (128
permutations, threshold 0.8) and 13-gram decontamination against the benchmark. Each pass
reports its own peak resident memory (``ru_maxrss``) and wall time; the figures are the median
(min-max) of the passes. The prep streams its source and writes kept rows as it goes, so what
grows with the row count is the dedup index alone: per kept problem a 12-byte exact key, an
8-byte entry in each of the 9 LSH bands and its id (4 bytes plus its length), about 90 bytes,
in segments filled in place (no merge copies one). Writes bench/results/bench_curate_prep.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import mmm  # noqa: E402

RECIPE = """# schema: data_recipes.recipe:Recipe
name: bench_prep
sources:
  - {path: problems.jsonl, preset: problem, name: synth}
decontam:
  benchmarks:
    - {name: bench, path: bench.jsonl}
run: {progress: false}
"""


def write_inputs(d: Path, n: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    syll = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "pe", "da", "gu", "fi"]
    vocab = sorted({rng.choice(syll) + rng.choice(syll) + rng.choice(syll) for _ in range(6000)})
    bench = [" ".join(rng.choices(vocab, k=40)) + "?" for _ in range(5000)]
    with open(d / "bench.jsonl", "w") as f:
        for i, q in enumerate(bench):
            f.write(json.dumps({"id": f"b{i}", "question": q}) + "\n")
    recent: list[str] = []
    with open(d / "problems.jsonl", "w") as f:
        for i in range(n):
            r = rng.random()
            if r < 0.05 and recent:
                q = rng.choice(recent).replace("?", " please?")
            elif r < 0.06:
                q = "Solve: " + rng.choice(bench)
            else:
                q = " ".join(rng.choices(vocab, k=40)) + "?"
            recent = (recent + [q])[-200:]
            row = {"id": f"p{i}", "question": q, "answer": str(rng.randint(1, 999)), "source": "synth"}
            f.write(json.dumps(row) + "\n")
    (d / "recipe.yaml").write_text(RECIPE)


def worker(d: Path) -> None:
    """One prep pass in this (fresh) process; prints its figures as JSON."""
    import resource

    from data_recipes.pipeline import prep
    from data_recipes.recipe import load_recipe

    recipe = load_recipe(str(d / "recipe.yaml"))
    out = d / f"out-{os.getpid()}"
    t = time.perf_counter()
    stats = prep(recipe, out, progress=False)
    seconds = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB -> MB on Linux
    funnel = stats["funnel"]
    for name in ("problems.jsonl", "dropped.jsonl", "funnel.json"):
        (out / "prep" / name).unlink(missing_ok=True)
    print(json.dumps({"seconds": seconds, "peak_rss_mb": rss, "kept": stats["n_problems"], "funnel": funnel}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "bench_curate_prep.md"))
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(Path(args.worker))
        return
    load0 = os.getloadavg()[0]
    results: dict[int, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="bench_prep_") as tmp:
        for n in args.sizes:
            d = Path(tmp) / str(n)
            d.mkdir()
            write_inputs(d, n)
            results[n] = []
            for k in range(args.repeats):
                proc = subprocess.run(
                    [sys.executable, __file__, "--worker", str(d)], capture_output=True, text=True, check=True
                )
                results[n].append(json.loads(proc.stdout.strip().splitlines()[-1]))
                r = results[n][-1]
                print(
                    f"{n} problems, pass {k + 1}: {r['seconds']:.0f} s, peak RSS {r['peak_rss_mb']:.0f} MB", flush=True
                )
                # the report so far after every pass: a run stopped early keeps what it measured
                Path(args.out).write_text(report(results, args, load0))
    print(report(results, args, load0))


def report(results: dict[int, list[dict]], args, load0: float) -> str:
    import statistics

    lines = [
        "# bench_curate_prep: curation prep (load, dedup, decontamination) at growing sizes",
        "",
        f"command: `python bench/bench_curate_prep.py --sizes {' '.join(map(str, args.sizes))} --repeats {args.repeats}`",
        "",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPU cores visible, shared with other jobs "
        f"(load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} when written), python "
        f"{platform.python_version()}",
        "- input: synthetic Problem rows (40-word questions; 5% near duplicates, 1% copied from a "
        "5,000-item benchmark), one JSONL file per size; recipe defaults (exact + MinHash LSH dedup, "
        "13-gram decontamination)",
        "- figures: median (min-max) over the passes listed, each pass in a fresh process",
        "",
        "| problems | passes | kept | peak RSS (MB) | wall time (s) | problems/s |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    done = {n: rs for n, rs in results.items() if rs}
    for n, rs in done.items():
        lines.append(
            f"| {n:,} | {len(rs)} | {rs[0]['kept']:,} | {mmm(r['peak_rss_mb'] for r in rs)} | "
            f"{mmm(r['seconds'] for r in rs)} | {mmm((n / r['seconds'] for r in rs), '{:,.0f}')} |"
        )
    if len(done) >= 2:
        small, big = min(done), max(done)
        ratio = statistics.median(r["peak_rss_mb"] for r in done[big]) / statistics.median(
            r["peak_rss_mb"] for r in done[small]
        )
        lines += ["", f"Peak RSS at {big:,} problems is **{ratio:.2f}x** that at {small:,} (target: at most 1.5x)."]
    if done:
        funnel = done[max(done)][0]["funnel"]
        lines += ["", f"Drops at {max(done):,}: " + json.dumps({k: v.get("dropped") for k, v in funnel.items()})]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

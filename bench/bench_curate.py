"""Throughput of the non-generation curation stages on synthetic long-CoT samples.

    python bench/bench_curate.py --samples 100000

Streams chunks of synthetic problems (40-word questions, 5% near-duplicates, 1% copied from a
5,000-item synthetic benchmark; 75% integer, 20% fraction, 5% symbolic gold answers) with 8 long chain-of-thought samples each (~1,500 words:
60% right, 25% wrong, 5% without a final answer, 5% looping, 5% drifting into Chinese)
through the pipeline's own stage code: dedup + decontamination (``pipeline.prep``'s checks),
then verification + rule filters (``pipeline.judge_stage``). Generating the synthetic text is
not timed. Resident memory is sampled as the input grows, to show it stays flat (only the
dedup index grows, by one signature per kept problem). Writes bench/results/bench_curate.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import mmm  # noqa: E402
from data_recipes.decontam import Decontaminator  # noqa: E402
from data_recipes.dedup import Deduper  # noqa: E402
from data_recipes.funnel import Funnel  # noqa: E402
from data_recipes.pipeline import judge_stage  # noqa: E402
from data_recipes.recipe import Recipe  # noqa: E402


def cpu_seconds() -> float:
    """CPU time of this process and its helpers (the verifier's sympy process lives beside us)."""
    import psutil

    me = psutil.Process()
    t = me.cpu_times()
    total = t.user + t.system + t.children_user + t.children_system
    for child in me.children(recursive=True):
        try:
            c = child.cpu_times()
            total += c.user + c.system
        except psutil.NoSuchProcess:
            pass
    return total


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class Synth:
    def __init__(self, seed: int = 0):
        self.rng = random.Random(seed)
        syll = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "pe", "da", "gu", "fi"]
        self.vocab = sorted(
            {self.rng.choice(syll) + self.rng.choice(syll) + self.rng.choice(syll) for _ in range(6000)}
        )
        self.math = [
            "therefore",
            "so",
            "we",
            "get",
            "x",
            "=",
            "+",
            "-",
            "\\frac{1}{2}",
            "step",
            "check",
            "wait",
            "the",
            "sum",
            "of",
            "is",
            "and",
            "let",
            "me",
            "verify",
            "again",
        ]
        self.bench = [self.question() for _ in range(5000)]
        self.recent: list[str] = []

    def question(self) -> str:
        return " ".join(self.rng.choices(self.vocab, k=40)) + "?"

    def cot(self, words: int) -> str:
        toks = self.rng.choices(self.vocab + self.math * 20, k=words)
        for i in range(0, words, 25):
            toks[i] += "."
        return " ".join(toks)

    def chunk(self, start: int, n_problems: int, per: int):
        problems, samples = [], []
        for i in range(start, start + n_problems):
            r = self.rng.random()
            if r < 0.05 and self.recent:
                q = self.rng.choice(self.recent).replace("?", " please?")  # near duplicate
            elif r < 0.06:
                q = "Solve: " + self.rng.choice(self.bench)  # contaminated
            else:
                q = self.question()
            self.recent = (self.recent + [q])[-200:]
            kind = self.rng.random()
            if kind < 0.75:
                gold = str(self.rng.randint(1, 999))
            elif kind < 0.95:
                gold = f"\\frac{{{self.rng.randint(1, 9)}}}{{{self.rng.randint(11, 19)}}}"
            else:  # symbolic: the samples write it in another order, so sympy must decide
                gold = f"{self.rng.randint(2, 9)}+\\sqrt{{{self.rng.choice([2, 3, 5, 7])}}}"
            pid = f"p{i}"
            problems.append(
                {
                    "id": pid,
                    "question": q,
                    "answer": gold,
                    "source": "synth",
                    "domain": "math",
                    "difficulty": float(self.rng.randint(1, 9)),
                    "meta": {},
                    "images": [],
                }
            )
            for j in range(per):
                body = self.cot(self.rng.randint(1000, 2000))
                r = self.rng.random()
                if r < 0.60:
                    right = "+".join(reversed(gold.split("+"))) if "sqrt" in gold else gold
                    text = body + f"\nSo the final answer is \\boxed{{{right}}}."
                elif r < 0.85:
                    text = body + f"\nSo the final answer is \\boxed{{{self.rng.randint(1000, 2000)}}}."
                elif r < 0.90:
                    text = body + "\nI am not sure."
                elif r < 0.95:
                    text = body[:3000] + " Wait, let me recheck the last step." * 80
                else:
                    text = body[:2000] + "所以我们需要重新计算这个结果。" * 60 + f"\\boxed{{{gold}}}"
                samples.append(
                    {
                        "id": f"{pid}#t#{j}",
                        "problem_id": pid,
                        "response": text,
                        "model": "synth",
                        "teacher": "t",
                        "source": "synth",
                        "level": problems[-1]["difficulty"],
                        "verdict": None,
                        "filters": {},
                        "scores": {},
                        "drop": None,
                    }
                )
        return problems, samples


def run_once(args) -> dict:
    """One pass of the four stages over the synthetic input (fresh indexes each time)."""
    recipe = Recipe()
    recipe.verify.workers = args.workers
    synth = Synth()
    decon = Decontaminator([("synth_bench", str(i), q) for i, q in enumerate(synth.bench)])
    dedup = Deduper(recipe.dedup)
    funnel = Funnel()
    t_prep = t_judge = c_prep = c_judge = 0.0
    load_start = os.getloadavg()[0]
    n_problems_total = args.samples // args.per_prompt
    done_samples = 0
    mem = []
    marks = {int(n_problems_total * f) for f in (0.25, 0.5, 0.75, 1.0)}
    for start in range(0, n_problems_total, args.chunk):
        n = min(args.chunk, n_problems_total - start)
        problems, samples = synth.chunk(start, n, args.per_prompt)
        t0, c0 = time.perf_counter(), cpu_seconds()
        kept = []
        for p in problems:
            dup = dedup.check(p)
            funnel.add("dedup", dup is None, dup and dup[0])
            if dup is None:
                hit = decon.check(p)
                funnel.add("decontam", hit is None, hit and "contaminated")
                if hit is None:
                    kept.append(p)
        t1, c1 = time.perf_counter(), cpu_seconds()
        ids = {p["id"] for p in kept}
        samples = [s for s in samples if s["problem_id"] in ids]
        judge_stage(kept, samples, recipe, [], start // args.chunk, funnel)
        t2, c2 = time.perf_counter(), cpu_seconds()
        t_prep += t1 - t0
        t_judge += t2 - t1
        c_prep += c1 - c0
        c_judge += c2 - c1
        done_samples += len(samples)
        if any(start < m <= start + n for m in marks):
            mem.append((start + n, done_samples, rss_mb()))
        print(
            f"{start + n}/{n_problems_total} problems, {done_samples} samples, "
            f"prep {t_prep:.1f}s judge {t_judge:.1f}s, rss {rss_mb():.0f} MB",
            flush=True,
        )

    return {
        "t_prep": t_prep,
        "t_judge": t_judge,
        "c_prep": c_prep,
        "c_judge": c_judge,
        "mem": mem,
        "funnel": funnel.to_dict(),
        "done_samples": done_samples,
        "n_problems_total": n_problems_total,
        "load_start": load_start,
        "load_end": os.getloadavg()[0],
        "bench_items": len(decon),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--per-prompt", type=int, default=8)
    ap.add_argument("--chunk", type=int, default=512, help="problems per chunk")
    ap.add_argument(
        "--workers",
        type=int,
        default=1,
        help="verification processes (1 = in-process; the pipeline scales across cores by shards)",
    )
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "bench_curate.md"))
    ap.add_argument("--repeats", type=int, default=3, help="passes over the same input; median (min-max) reported")
    args = ap.parse_args()

    runs = [run_once(args) for _ in range(args.repeats)]
    last = runs[-1]
    c_prep, c_judge = (statistics.median(r[k] for r in runs) for k in ("c_prep", "c_judge"))
    mem, done_samples, n_problems_total = last["mem"], last["done_samples"], last["n_problems_total"]
    load_start, load_end = runs[0]["load_start"], runs[-1]["load_end"]

    f = last["funnel"]
    total_in = n_problems_total * args.per_prompt
    cpu_ms = 1000 * (c_prep + c_judge) / total_in

    whole = [total_in / (r["t_prep"] + r["t_judge"]) for r in runs]
    lines = (
        [
            "# bench_curate: non-generation curation stages on synthetic long-CoT samples",
            "",
            f"command: `python bench/bench_curate.py --samples {args.samples} --workers {args.workers} "
            f"--repeats {args.repeats}`",
            "",
            "Generation (sampling from teachers) is not part of this: it is the replay / model step. ",
            "Times below exclude making the synthetic text. The input is synthetic, generated by this script "
            "(the same input for every pass). "
            f"Figures are the median (min-max) of {len(runs)} passes in one run.",
            "",
            f"- machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores visible, shared with "
            f"other jobs (load average {load_start:.1f} at the start, {load_end:.1f} at the end), "
            f"python {platform.python_version()}; verification workers: {args.workers}",
            f"- input: {n_problems_total} problems x {args.per_prompt} samples = {total_in} samples "
            f"(~1,500 words each); benchmark index: {last['bench_items']} items, 13-grams",
            f"- dedup + decontamination: {n_problems_total} problems, "
            f"**{mmm((n_problems_total / r['t_prep'] for r in runs), '{:,.0f}')} problems/s**",
            f"- verification + rule filters: {done_samples} samples, "
            f"**{mmm((r['done_samples'] / r['t_judge'] for r in runs), '{:,.0f}')} samples/s**",
            f"- all four stages, one process: {total_in} samples, **{mmm(whole, '{:,.0f}')} samples/s** "
            f"(passes: {', '.join(f'{x:,.0f}' for x in whole)})",
            f"- CPU cost (medians): {1000 * c_prep / total_in:.3f} ms/sample (dedup + decontamination) + "
            f"{1000 * c_judge / max(1, done_samples):.3f} ms/sample (verification + filters) = {cpu_ms:.3f} ms/sample "
            f"of CPU time, so two shards on 2 free cores (`--shard 0/2`, `--shard 1/2`) would process "
            f"about {2000 / cpu_ms:,.0f} samples/s (derived, not measured)",
            "",
            "Resident memory during the last pass:",
            "",
            "| problems done | samples done | resident memory (MB) |",
            "|---:|---:|---:|",
        ]
        + [f"| {a} | {b} | {m:.0f} |" for a, b, m in mem]
        + [
            "",
            "| stage | in | out | drops |",
            "|---|---:|---:|---|",
        ]
        + [
            f"| {k} | {v['in']} | {v['out']} | {', '.join(f'{r}: {c}' for r, c in v['dropped'].items())} |"
            for k, v in f.items()
        ]
        + [""]
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

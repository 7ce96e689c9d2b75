"""How busy the generation slots stay: blocking batches of 32 prompts against one whole-chunk call.

    python bench/bench_gen_schedule.py                       # writes bench/results/bench_gen_schedule.md
    python bench/bench_gen_schedule.py --models open         # every open-weight model in the length file
    python bench/bench_gen_schedule.py --lognormal           # the assumed log-normal shape instead
    python bench/bench_gen_schedule.py --lengths lens.jsonl  # replay other measured output lengths

A simulation, not a GPU run. An engine has ``--slots`` concurrent sequences (vLLM's
``max_num_seqs``, 256 by default) and decodes one token per active sequence per step (the
decode-bound regime of long chains of thought); within one call it refills a slot as soon as a
sequence ends (continuous batching). Two schedules of one curation chunk:

- old: ``sampling.generate`` as it was: prompts grouped by n, one blocking call per 32
  prompts, each call ending only when its longest sample does; one engine of
  ``tensor_parallel_size`` GPUs on the node;
- new: the whole chunk in one call, one SamplingParams per prompt (each its own n), and
  ``data_parallel_size: auto``: node GPUs / tensor_parallel_size engines, the chunk's prompts
  dealt out among them.

Slot utilisation = generated tokens / (slots x steps the engine ran); node utilisation scales it
by the share of the node's GPUs that hold an engine. Prompt levels and samples per prompt are
the shipped RedStar math recipe's (levels 3-9 kept, ``n_by_level`` 7: 12, 8: 14, 9: 16, else 10),
and outputs are capped at its ``max_new_tokens``, 16,384.

Output lengths: published per-response token counts, replayed. ``bench/data/longcot_math_lengths.json``
holds the completion tokens (reasoning plus answer, as the serving API counted them) of reasoning
models on 6 AIME-level prompts, 5 runs each, from the LRM Token Economy study (Tim, @cpldcpu,
6 August 2025; https://github.com/cpldcpu/LRMTokenEconomy, commit d5cc353, Apache-2.0; the file
says how it was extracted). By default the DeepSeek-R1 family's 90 responses are replayed
(deepseek-r1, deepseek-r1-0528, deepseek-r1-distill-qwen-7b: median 3,645 tokens, 90th
percentile 10,671, none truncated): each prompt of a simulated chunk takes one source prompt at
random and draws its n samples from that prompt's responses with replacement, so a hard prompt's
samples are long together, as they are in a real chunk. ``--models`` picks other models
(``open``: every open-weight one; ``all``). ``--lengths FILE`` replays other lengths (that JSON
shape, or JSONL rows ``{"tokens": n, "prompt": id}`` or bare numbers, pooled when no prompt is
given). ``--lognormal`` uses the earlier assumed shape instead (median 4,000 tokens, sigma 0.8,
clipped to [--min-len, 16,384]), which was not fitted to any published lengths.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import platform
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import mmm  # noqa: E402

N_BY_LEVEL = {7: 12, 8: 14, 9: 16}  # data_recipes/recipes/redstar_math.yaml
DEFAULT_N = 10
MAX_NEW = 16384


def n_for(level: int) -> int:
    return max([n for lv, n in N_BY_LEVEL.items() if lv <= level], default=DEFAULT_N)


def continuous(lengths: list[int], slots: int) -> int:
    """Steps one engine needs to decode ``lengths`` (in order) with ``slots`` concurrent
    sequences, a freed slot taking the next sequence at once."""
    if not lengths:
        return 0
    running = [n for n in lengths[:slots]]
    heapq.heapify(running)
    for n in lengths[slots:]:
        t = heapq.heappop(running)
        heapq.heappush(running, t + n)
    return max(running)


def chunk(rng: random.Random, prompts: int, sample) -> list[list[int]]:
    """Output lengths per prompt: a level (3-9), its n, then ``sample(n)``: that prompt's n lengths."""
    return [sample(n_for(rng.randint(3, 9))) for _ in range(prompts)]


def old_schedule(prompts: list[list[int]], slots: int, batch: int = 32) -> int:
    """Calls grouped by n, 32 prompts each, one after the other, each as long as its slowest part."""
    by_n: dict[int, list[list[int]]] = {}
    for p in prompts:
        by_n.setdefault(len(p), []).append(p)
    steps = 0
    for _, group in sorted(by_n.items()):
        for i in range(0, len(group), batch):
            steps += continuous([t for p in group[i : i + batch] for t in p], slots)
    return steps


def new_schedule(prompts: list[list[int]], slots: int, engines: int) -> int:
    """One call per engine over its interleaved share of the prompts; done when the last ends."""
    return max(continuous([t for p in prompts[r::engines] for t in p], slots) for r in range(engines))


def simulate(args, seed: int, draw_factory) -> dict:
    rng = random.Random(seed)
    prompts = chunk(rng, args.prompts, draw_factory(rng))
    tokens = sum(map(sum, prompts))
    engines = max(1, args.gpus // args.tp)
    old = old_schedule(prompts, args.slots)
    new = new_schedule(prompts, args.slots, engines)
    share_old = args.tp / args.gpus  # one engine of tp GPUs on the node
    share_new = engines * args.tp / args.gpus
    return {
        "tokens": tokens,
        "sequences": sum(map(len, prompts)),
        "old_slot_util": tokens / (args.slots * old),
        "new_slot_util": tokens / (args.slots * new * engines),
        "old_node_util": tokens / (args.slots * old) * share_old,
        "new_node_util": tokens / (args.slots * new * engines) * share_new,
        "speedup": old / new,
    }


DEFAULT_LENGTHS = "bench/data/longcot_math_lengths.json"
R1_FAMILY = ("deepseek-r1", "deepseek-r1-0528", "deepseek-r1-distill-qwen-7b")


def lognormal_draw(median: float, sigma: float, lo: int):
    def factory(rng):
        def sample(n: int) -> list[int]:
            return [int(min(MAX_NEW, max(lo, rng.lognormvariate(math.log(median), sigma)))) for _ in range(n)]

        return sample

    return factory


def load_lengths(path: str | Path, models: str = "r1") -> dict[str, list[int]]:
    """Measured output lengths grouped by source prompt. ``path``: the shipped JSON (``rows`` of
    model, open_weights, prompt, run, tokens), or JSONL of ``{"tokens": n, "prompt": id}`` rows or
    bare numbers (one group when no prompt is named). ``models``: ``r1`` (the DeepSeek-R1
    family), ``open`` (open-weight models), ``all``, or a comma-separated list of names."""
    text = Path(path).read_text()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        doc = None
    if isinstance(doc, dict) and "rows" in doc:
        rows = doc["rows"]
        if models == "r1":
            rows = [r for r in rows if r["model"] in R1_FAMILY]
        elif models == "open":
            rows = [r for r in rows if r.get("open_weights")]
        elif models != "all":
            names = set(models.split(","))
            rows = [r for r in rows if r["model"] in names]
    else:
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        rows = [r if isinstance(r, dict) else {"tokens": r} for r in rows]
    groups: dict[str, list[int]] = {}
    for r in rows:
        groups.setdefault(str(r.get("prompt", "")), []).append(int(r["tokens"]))
    if not groups:
        raise SystemExit(f"{path}: no lengths (models: {models})")
    return groups


def replay_draw(groups: dict[str, list[int]]):
    """Each prompt takes one source prompt at random and its n lengths from that prompt's
    measured responses, with replacement, capped at ``MAX_NEW``."""
    pools = [groups[k] for k in sorted(groups)]

    def factory(rng):
        def sample(n: int) -> list[int]:
            pool = rng.choice(pools)
            return [min(MAX_NEW, rng.choice(pool)) for _ in range(n)]

        return sample

    return factory


def describe(groups: dict[str, list[int]]) -> str:
    import statistics

    vals = sorted(v for g in groups.values() for v in g)
    deciles = statistics.quantiles(vals, n=10, method="inclusive") if len(vals) > 1 else vals * 9
    return (
        f"{len(vals)} responses to {len(groups)} prompts: median {deciles[4]:,.0f}, "
        f"90th percentile {deciles[8]:,.0f}, "
        f"mean {sum(vals) / len(vals):,.0f} tokens, {sum(v >= MAX_NEW for v in vals)} at or over the "
        f"{MAX_NEW:,} cap"
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prompts", type=int, default=1024, help="prompts in a chunk (the recipe's run.chunk_size)")
    ap.add_argument("--slots", type=int, default=256, help="concurrent sequences per engine (vLLM max_num_seqs)")
    ap.add_argument("--gpus", type=int, default=8, help="GPUs on the node")
    ap.add_argument("--tp", type=int, default=4, help="tensor_parallel_size of the teacher")
    ap.add_argument("--median", type=float, default=4000.0)
    ap.add_argument("--sigma", type=float, default=0.8)
    ap.add_argument("--min-len", type=int, default=200)
    ap.add_argument("--lengths", default=DEFAULT_LENGTHS, help="measured output lengths to replay")
    ap.add_argument("--models", default="r1", help="r1 (DeepSeek-R1 family), open, all, or names, comma-separated")
    ap.add_argument("--lognormal", action="store_true", help="the assumed log-normal lengths instead")
    ap.add_argument("--repeats", type=int, default=3, help="chunks simulated (different seeds)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "bench_gen_schedule.md"))
    args = ap.parse_args(argv)
    if args.gpus % args.tp or args.tp < 1:
        ap.error("--tp must divide --gpus")
    if args.lognormal:
        draw = lognormal_draw(args.median, args.sigma, args.min_len)
        src = f"log-normal (assumed), median {args.median:.0f}, sigma {args.sigma}, clipped to [{args.min_len}, {MAX_NEW}]"
    else:
        path = Path(args.lengths)
        groups = load_lengths(path if path.is_absolute() else ROOT / path, args.models)
        draw = replay_draw(groups)
        src = f"replayed from `{args.lengths}` (models: {args.models}; {describe(groups)})"
        if args.lengths == DEFAULT_LENGTHS:
            src += (
                "; source: LRM Token Economy, https://github.com/cpldcpu/LRMTokenEconomy at commit d5cc353 "
                "(Apache-2.0). Each chunk prompt draws its n samples from one source prompt's responses"
            )
    runs = [simulate(args, seed, draw) for seed in range(args.repeats)]
    engines = args.gpus // args.tp
    lines = [
        "# bench_gen_schedule: generation-slot utilisation, blocking batches against one whole-chunk call",
        "",
        f"command: `python bench/bench_gen_schedule.py{' ' + ' '.join(argv) if argv else ''}`",
        "",
        f"- simulation (python {platform.python_version()}), no GPU: {args.prompts} prompts a chunk, "
        f"{runs[0]['sequences']:,} samples in the first ({runs[0]['tokens']:,} tokens); output lengths {src}",
        f"- engine: {args.slots} concurrent sequences, one token per sequence per step; node of {args.gpus} GPUs, "
        f"teacher at tensor_parallel_size {args.tp}",
        f"- old: calls of 32 prompts grouped by n, one engine ({args.tp} of {args.gpus} GPUs); new: the chunk "
        f"in one call per engine, {engines} engines (data_parallel_size auto)",
        f"- figures: median (min-max) over {args.repeats} simulated chunks",
        "",
        "| schedule | slot utilisation | node utilisation |",
        "|---|---:|---:|",
        f"| old (blocking batches of 32) | {mmm((100 * r['old_slot_util'] for r in runs), '{:.0f}%')} | "
        f"{mmm((100 * r['old_node_util'] for r in runs), '{:.0f}%')} |",
        f"| new (whole chunk, per-request n) | {mmm((100 * r['new_slot_util'] for r in runs), '{:.0f}%')} | "
        f"{mmm((100 * r['new_node_util'] for r in runs), '{:.0f}%')} |",
        "",
        f"Chunk finishes {mmm((r['speedup'] for r in runs), '{:.1f}x')} sooner with the new schedule "
        f"(the engines' step counts; equal per-step cost assumed).",
    ]
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Score a model, or stored responses, on a math benchmark.

examples:
  redstar eval --benchmark math-hard --data lighteval/MATH-Hard --model runs/sft/final --out runs/eval/mh
  redstar eval --benchmark aime24 --data aime24.jsonl --model Qwen/QwQ-32B-Preview --backend vllm \\
      --tensor-parallel-size 4 --samples 16 --temperature 0.7 --max-new-tokens 32768 --out runs/eval/aime
  redstar eval --benchmark mathvista-geo --subset skill --data testmini.json --model runs/geo/final --out runs/mv
  redstar eval --benchmark gsm8k --data gsm8k_test.jsonl --responses responses.jsonl --out runs/rescore
  redstar eval --benchmark math500 --data math500.jsonl --responses responses.jsonl --fallback --out runs/lenient
  redstar eval --benchmark geoqa --data geoqa/ --responses responses.jsonl --protocol both --out runs/geoqa-both
  redstar eval --benchmark mathvista-geo --data testmini.json --responses outputs.jsonl --protocol official \
      --judge-model gpt-4o-mini --judge-base-url https://api.openai.com/v1 --out runs/mv-official
  redstar eval --compare runs/eval/mh runs/eval/aime --out runs/leaderboard
  redstar eval --compare runs/eval/base runs/eval/sft --label base sft --sort-by maj@16 --out runs/leaderboard
  redstar eval --benchmark aime24 --data aime24.jsonl --model runs/sft/final --out runs/eval/aime --card runs/sft

--responses rows: {"id": ..., "responses": [str, ...], "scores": [float, ...] (optional, gives rm@k),
"finish_reasons": ["stop" | "length", ...] (optional), "extracted": [str, ...] (optional, MathVista's
published extractions, used by --protocol official)}.
Item ids: the benchmark's own id (AIME id/ID, MathVista pid, GeoQA question_id, Geometry3K id,
MATH500 unique_id), the relative path for the MATH test/<type>/<n>.json tree, else the 0-based row.
A stated answer is required (boxed, announced, or in prose) and an answer that only restates the
question scores 0; --fallback adds the verifier's guarded last-number fallback (metrics.json
records it as answer_fallback). MathVista float answers are rounded to the item's precision first.
Outputs in --out: metrics.json, results.jsonl (every item: prompt, responses, finish reasons,
extracted answers, verdicts), responses.jsonl (re-scorable; appended per item as generation goes,
so an interrupted run continues from the items it lacks), run.json (the run record: the
settings that made the responses, redstar/rundir.py), report.md, accuracy_by_category.png,
accuracy_by_length.png.

--out is a run directory like every command's: a re-run with the same settings continues (or
scores the stored responses again); other settings, or another command's directory, are refused
with what changed, unless --overwrite; a run that stopped before writing a response (a mistyped
model) holds nothing. A malformed benchmark row is skipped and the run exits 1 naming the count
and the first path:line; --strict stops at the first one instead (exit 2).

--protocol official scores as each benchmark's published scorer does (eval/protocols: lighteval
for math-hard, Qwen2.5-Math for math500 / aime / gsm8k, G-LLaVA for geoqa, MathVista's extraction
and normalisation for mathvista-geo); --protocol both reports both and lists the items where they
differ. MathVista's extraction uses, in order: an 'extracted' list in --responses rows, a judge
(--judge-model, through --judge-backend openai or vllm), else its rule-based quick extraction.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

BENCHMARKS = ("math-hard", "math500", "aime24", "aime25", "geoqa", "mathvista-geo", "geometry3k", "gsm8k")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--benchmark", choices=BENCHMARKS, help="which benchmark --data holds")
    p.add_argument("--data", help="local file / directory, or a hub dataset id")
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--model",
        help="model directory, hub id, 'default' (SmolLM2-135M-Instruct), "
        "or the served model name with --backend openai",
    )
    src.add_argument("--responses", help="score stored responses instead of generating (rows: id, responses)")
    p.add_argument("--out", help="output directory")
    p.add_argument(
        "--compare",
        nargs="+",
        metavar="DIR",
        help="leaderboard across eval output dirs, one row per run (--out: leaderboard.md and .csv)",
    )
    p.add_argument(
        "--label",
        nargs="+",
        default=None,
        metavar="NAME",
        help="--compare: row names, one per DIR (default: the shortest distinct tail of each path)",
    )
    p.add_argument(
        "--sort-by", default="pass@1", metavar="METRIC", help="--compare: sort by this metric (default pass@1)"
    )
    p.add_argument(
        "--card",
        default=None,
        metavar="MODEL_DIR",
        help="add the scores to this model's card (model-index); a training run or model directory",
    )
    g = p.add_argument_group("generation")
    g.add_argument(
        "--backend",
        choices=("vllm", "hf", "openai"),
        default=None,
        help="default: vllm when installed with a GPU, else hf",
    )
    g.add_argument("--samples", type=int, default=1, help="responses per item (n); >1 reports pass@k and maj@k")
    g.add_argument("--temperature", type=float, default=None, help="default 0 (greedy) for 1 sample, else 0.6")
    g.add_argument("--top-p", type=float, default=None, help="default 1.0 greedy, 0.95 when sampling")
    g.add_argument("--max-new-tokens", type=int, default=32768)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--system", default=None, help="system prompt: 'redstar', a file, literal text (default: none)")
    g.add_argument("--prompt", default=None, help="prompt template file (fields {question}, {choices})")
    g.add_argument("--batch-size", type=int, default=8, help="hf backend: prompts per batch")
    g.add_argument("--dtype", default=None, help="model dtype (hf: float32 on CPU, bfloat16 on GPU; vllm: auto)")
    g.add_argument("--tensor-parallel-size", type=int, default=1)
    g.add_argument("--data-parallel-size", type=int, default=1)
    g.add_argument("--max-model-len", type=int, default=None, help="vllm context length")
    g.add_argument("--base-url", default="http://localhost:8000/v1", help="openai backend endpoint")
    g.add_argument("--concurrency", type=int, default=16, help="openai backend: requests in flight")
    d = p.add_argument_group("data")
    d.add_argument(
        "--subset",
        choices=("task", "skill"),
        default=None,
        help="mathvista-geo: task = 'geometry problem solving' (208, default), skill = 'geometry reasoning' (239)",
    )
    d.add_argument("--split", default=None, help="split for hub ids / directories (default per benchmark)")
    d.add_argument("--image-root", default=None, help="folder image paths are relative to")
    d.add_argument("--allow-pickle", action="store_true", help="geoqa: read the original pickle release (runs code)")
    d.add_argument("--limit", type=int, default=None, help="first N items only (smoke tests)")
    d.add_argument(
        "--strict",
        action="store_true",
        help="stop at the first malformed benchmark row (default: skip it, and exit 1 naming the count and the first)",
    )
    s = p.add_argument_group("scoring")
    s.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1), help="grading processes")
    fb = s.add_mutually_exclusive_group()
    fb.add_argument(
        "--fallback",
        action="store_true",
        help="also credit a bare last number standing alone at the end (off: a stated answer is required)",
    )
    fb.add_argument("--no-fallback", action="store_true", help="the default: a stated answer is required")
    s.add_argument("--rm-seeds", type=int, default=100, help="rm@k: random draws of k per item (AceMath: 100)")
    from eval.protocols import PROTOCOLS

    s.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        default="redstar",
        help="redstar: the shared verifier (default); official: the benchmark's published scorer; "
        "both: both numbers side by side",
    )
    s.add_argument(
        "--judge-model",
        default=None,
        help="mathvista-geo official extraction: the LLM judge (served name, or a model for vllm)",
    )
    s.add_argument("--judge-backend", choices=("openai", "vllm"), default="openai")
    s.add_argument("--judge-base-url", default="http://localhost:8000/v1", help="judge endpoint (openai backend)")
    g.add_argument(
        "--chunk-size",
        type=int,
        default=None,
        help="items handed to the backend per call and saved together to responses.jsonl "
        "(default: the hf batch size; 1024 for vllm, whose engine keeps its batch full within a call; "
        "64 for openai)",
    )
    if not any("--overwrite" in a.option_strings for a in p._actions):
        p.add_argument(
            "--overwrite",
            action="store_true",
            help="empty --out first (its responses are discarded and generated again)",
        )


def _default_backend() -> str:
    import importlib.util

    if importlib.util.find_spec("vllm") is not None:
        import torch

        if torch.cuda.is_available():
            return "vllm"
    return "hf"


def _make_backend(args, kind: str):
    from redstar.generation import make_backend

    if kind == "hf":
        import torch

        dtype = args.dtype or ("bfloat16" if torch.cuda.is_available() else "float32")
        return make_backend("hf", model=args.model, batch_size=args.batch_size, dtype=dtype)
    if kind == "vllm":
        return make_backend(
            "vllm",
            model=args.model,
            tensor_parallel_size=args.tensor_parallel_size,
            data_parallel_size=args.data_parallel_size,
            max_model_len=args.max_model_len,
            dtype=args.dtype or "auto",
            seed=args.seed,
        )
    return make_backend("openai", base_url=args.base_url, model=args.model, workers=args.concurrency)


def _generate(args, backend_name: str, requests: list, cfg, out: Path) -> dict[str, list]:
    """Responses for every request: those already in ``out/responses.jsonl`` (the run directory
    checked they were made with these settings), then the missing ones, generated a chunk at a
    time and appended per item as each chunk finishes, so an interrupted run loses at most one
    chunk."""
    from eval.resume import ResponseLog, load_done
    from redstar.config import ConfigError

    done = load_done(out, [r.id for r in requests], cfg.n)
    todo = [r for r in requests if r.id not in done]
    if done:
        print(
            f"resuming: {len(done)} of {len(requests)} items already generated in {out / 'responses.jsonl'}",
            file=sys.stderr,
        )
    if todo:
        try:
            backend = _make_backend(args, backend_name)
        except ImportError as e:  # vllm missing on this machine
            raise ConfigError(str(e)) from None
        # a large window for vLLM: its engine refills a slot as soon as a sample ends, so a
        # call of 64 items would wait for its longest 8k-16k-token answer with slots idle
        chunk = args.chunk_size or {"hf": args.batch_size, "vllm": 1024}.get(backend_name, 64)
        try:
            with ResponseLog(out) as log:
                for start in range(0, len(todo), max(1, chunk)):
                    part = todo[start : start + max(1, chunk)]
                    for r, texts in zip(part, backend.generate(part, cfg)):
                        done[r.id] = texts
                        log.append(r.id, texts)
                    log.sync()
        except ValueError as e:  # e.g. images sent to a text-only model
            raise ConfigError(f"{args.model}: {e}") from None
        finally:
            backend.close()
    return {r.id: done[r.id] for r in requests}


def _official(args, items, responses, extracted):
    """Verdicts of the benchmark's published scorer, with MathVista's judge when configured."""
    from eval.protocols import score_official
    from redstar.generation import make_backend

    judge = None
    if args.judge_model and args.benchmark == "mathvista-geo" and not (extracted and all(extracted.values())):
        if args.judge_backend == "vllm":
            judge = make_backend("vllm", model=args.judge_model, seed=args.seed)
        else:
            judge = make_backend(
                "openai", base_url=args.judge_base_url, model=args.judge_model, workers=args.concurrency
            )
    try:
        return score_official(
            args.benchmark, items, responses, extracted=extracted, judge=judge, judge_name=args.judge_model
        )
    finally:
        if judge is not None:
            judge.close()


# what `redstar card` / `eval --card` write into a model directory: not the model
CARD_FILES = ("README.md", "eval_results.json", "eval")


def _model_files(model: str) -> dict:
    """``{"input:MODEL": {"bytes", "newest"}}`` for a local model directory, over its files less
    the card's (``CARD_FILES``), so adding scores to a model's card does not change the key of
    the runs that scored it while a re-exported model does; ``{}`` for a hub id or a name."""
    path = Path(model)
    if not path.is_dir():
        return {}
    stats = [f.stat() for f in path.rglob("*") if f.is_file() and f.relative_to(path).parts[0] not in CARD_FILES]
    newest = max((st.st_mtime for st in stats), default=0)
    return {
        f"input:{model}": {
            "bytes": sum(st.st_size for st in stats),
            "newest": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(newest)),
        }
    }


def _open_run(args, out: Path, backend_name: str | None, gen_info: dict | None):
    """``out`` under the run-directory contract (redstar/rundir.py). Its key is what shapes the
    responses: the data, and the model and generation settings or the stored responses file;
    not --limit (a larger limit only adds items) nor the scoring options (every run scores
    again, so a finished run is re-scored from its stored responses)."""
    from eval.prompting import system_prompt
    from redstar.rundir import open_run_dir

    key = {"benchmark": args.benchmark, "data": args.data, "subset": args.subset, "split": args.split}
    inputs = [args.data]
    if args.responses:
        key["responses"] = args.responses
        inputs.append(args.responses)
    else:
        key.update(model=args.model, backend=backend_name, system=system_prompt(args.system), prompt=args.prompt)
        key.update(gen_info or {})
        key.update(_model_files(args.model))
        inputs += [args.prompt] if args.prompt else []
    config = {k: v for k, v in sorted(vars(args).items()) if isinstance(v, (str, int, float, bool, list, type(None)))}
    run = open_run_dir(out, "eval", key, config=config, inputs=inputs, overwrite=args.overwrite)
    if run.complete:
        print(f"{out}: finished earlier with the same settings; scoring its responses again", file=sys.stderr)
    return run


def _compare(args) -> int:
    from eval.compare import compare_rows, leaderboard_csv, leaderboard_markdown, sort_rows
    from redstar.dataio import atomic_write_text

    rows, keys = compare_rows(args.compare, args.label)
    rows = sort_rows(rows, keys, args.sort_by)
    table = leaderboard_markdown(rows, keys, args.sort_by)
    print(table, end="")
    if args.out:
        atomic_write_text(Path(args.out) / "leaderboard.md", table)
        atomic_write_text(Path(args.out) / "leaderboard.csv", leaderboard_csv(rows, keys))
    return 0


def run(args: argparse.Namespace) -> int:
    from redstar.config import ConfigError

    if args.compare:
        return _compare(args)
    for flag in ("benchmark", "data", "out"):
        if not getattr(args, flag):
            raise ConfigError(f"--{flag} is required (or use --compare DIR...)")
    if not (args.model or args.responses):
        raise ConfigError("give --model (generate) or --responses FILE (score stored responses)")
    if args.samples < 1:
        raise ConfigError(f"--samples must be >= 1, got {args.samples}")
    if args.card:
        from redstar.release.model_card import resolve_model_dir

        resolve_model_dir(args.card)  # a wrong --card fails before any generation
    from eval.protocols import OFFICIAL

    if args.protocol != "redstar" and args.benchmark not in OFFICIAL:
        raise ConfigError(
            f"--protocol {args.protocol}: {args.benchmark} has no published scorer to reproduce "
            f"(official scorers exist for {', '.join(OFFICIAL)}); use --protocol redstar"
        )

    from eval.benchmarks import get_benchmark, load_benchmark
    from eval.prompting import build_requests, system_prompt
    from eval.report import pct, write_report
    from eval.scoring import (
        compute_metrics,
        differing_items,
        grade_responses,
        length_accuracy,
        match_responses,
        official_metrics,
        result_rows,
    )
    from redstar.cliargs import options
    from redstar.dataio import write_json, write_jsonl
    from redstar.generation import GenerationConfig
    from redstar.generation.replay import read_responses

    out = Path(args.out)
    bench = get_benchmark(args.benchmark)
    t0 = time.time()
    # data: every row accounted for (kept, left out on purpose, or skipped with its reason)
    res = load_benchmark(
        args.benchmark, args.data, **options(args, "split", "subset", "image_root", "allow_pickle", "limit", "strict")
    )
    print(f"{args.benchmark}: {res.summary()}", file=sys.stderr)
    if not res.items:
        raise ConfigError(f"{args.data}: no usable {args.benchmark} items ({res.summary()})")
    items = res.items
    requests = build_requests(items, bench.prompt, system=args.system, prompt_file=args.prompt)
    prompts = {r.id: r.messages for r in requests}

    gen_info = backend_name = cfg = None
    if not args.responses:
        temperature = args.temperature if args.temperature is not None else (0.0 if args.samples == 1 else 0.6)
        top_p = args.top_p if args.top_p is not None else (1.0 if temperature == 0 else 0.95)
        try:
            cfg = GenerationConfig(
                n=args.samples, temperature=temperature, top_p=top_p, max_new_tokens=args.max_new_tokens, seed=args.seed
            )
        except ValueError as e:
            raise ConfigError(str(e)) from None
        backend_name = args.backend or _default_backend()
        gen_info = {
            "temperature": temperature,
            "top_p": top_p,
            "max_new_tokens": args.max_new_tokens,
            "seed": args.seed,
            "n": args.samples,
        }
    run_dir = _open_run(args, out, backend_name, gen_info)

    scores = None
    if args.responses:
        stored = read_responses(args.responses)
        unmatched = match_responses(items, {k: v["responses"] for k, v in stored.items()}, args.responses)
        if unmatched:
            print(
                f"note: {len(unmatched)} response rows match no item (first: {unmatched[0]}); ignored", file=sys.stderr
            )
        responses = {it.id: stored[it.id]["responses"] for it in items}
        scores = {it.id: stored[it.id]["scores"] for it in items}
        if args.samples > 1:
            short = [i for i, r in responses.items() if len(r) < args.samples]
            if short:
                raise ConfigError(f"--samples {args.samples}: item {short[0]} has {len(responses[short[0]])} responses")
            responses = {i: r[: args.samples] for i, r in responses.items()}
            scores = {i: (s[: args.samples] if s else None) for i, s in scores.items()}
        extracted = {it.id: (stored[it.id].get("extracted") or [])[: len(responses[it.id])] or None for it in items}
    else:
        responses = _generate(args, backend_name, requests, cfg, out)
        extracted = None

    fallback = bool(args.fallback)
    verdicts = official = official_info = None
    if args.protocol != "official":
        verdicts = grade_responses(items, responses, workers=args.workers, progress=True, fallback=fallback)
    if args.protocol != "redstar":
        official, official_info = _official(args, items, responses, extracted)
    primary = verdicts if verdicts is not None else official
    metrics = {
        "benchmark": args.benchmark,
        "subset": res.subset if args.benchmark == "mathvista-geo" else None,
        "data": args.data,
        "model": args.model,
        "responses": args.responses,
        "backend": backend_name,
        "n_read": res.read,
        "n_filtered": res.filtered,
        "n_skipped": len(res.skipped),
        "category_name": bench.category,
        "system_prompt": system_prompt(args.system),
        "generation": gen_info,
        "answer_fallback": fallback,
        "protocol": args.protocol,
    }
    metrics.update(compute_metrics(items, responses, primary, scores, rm_seeds=args.rm_seeds, seed=args.seed))
    rows = result_rows(items, prompts, responses, primary, scores)
    if official is not None:
        metrics["official"] = dict(official_info, **official_metrics(items, official))
    if verdicts is not None and official is not None:
        differ = differing_items(items, verdicts, official)
        metrics["official"]["n_items_differ"] = len(differ)
        metrics["official"]["items_differ"] = differ[:100]
        for row in rows:
            vs = official[row["id"]]
            row["official"] = {"extracted": [v.extracted for v in vs], "correct": [bool(v.correct) for v in vs]}
            row["protocols_differ"] = row["correct"] != row["official"]["correct"]
    metrics["seconds"] = round(time.time() - t0, 2)
    write_jsonl(out / "results.jsonl", rows)
    write_json(out / "metrics.json", metrics)
    write_report(out, metrics, length_accuracy(items, responses, primary), res.skipped)
    if args.card:
        from redstar.release.eval_results import add_eval_results

        add_eval_results(args.card, [out], [metrics])
        print(f"scores added to the card of {args.card}", file=sys.stderr)
    extra = "".join(f", {k} {pct(metrics[k])}" for k in metrics if k.startswith(("maj@", "pass@")) and k != "pass@1")
    if args.protocol == "both":
        extra += (
            f"; official ({metrics['official']['protocol']}) {pct(metrics['official']['accuracy'])}%, "
            f"{metrics['official']['n_items_differ']} items differ"
        )
    if metrics.get("truncation_rate"):
        extra += f"; truncated {pct(metrics['truncation_rate'])}%"
    label = "official accuracy" if args.protocol == "official" else "accuracy"
    print(
        f"{args.benchmark}: {label} {pct(metrics['accuracy'])}% over {metrics['n_items']} items "
        f"x {metrics['n_samples']} samples{extra} -> {out / 'report.md'}"
    )
    run_dir.record["config"] = run_dir.config  # the scoring options of this run
    run_dir.finish({k: metrics[k] for k in ("accuracy", "n_items", "n_samples", "n_skipped")})
    if res.skipped:  # as redstar verify: the run is done, but not every row of the benchmark made it
        print(
            f"redstar eval: {len(res.skipped)} malformed benchmark row(s) skipped (first: {res.skipped[0]}); "
            "the report lists them, --strict stops at the first",
            file=sys.stderr,
        )
        return 1
    return 0

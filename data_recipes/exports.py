"""Exports: the merge step that turns finished chunks into training rows and the report.

    merge(recipe, "runs/math")   # samples.jsonl, sft.jsonl, preferences.jsonl, rl_prompts.jsonl,
                                 # subsets/<name>.jsonl (+ <name>_control.jsonl), funnel.json, report.md

- SFT rows: verified-correct samples that passed every filter (and the curators, when they
  apply), at most ``sft_per_prompt`` per prompt, as chat messages with the recipe's prompt.
- Preference pairs: a correct sample against an incorrect one of the same prompt (RedStar's
  failed samples become DPO negatives), ``pairs_per_prompt`` at most.
- RL prompts: every sampled prompt with a label (gold or cross-check consensus), for a rule
  reward: ``label = {"answer", "kind", "choices", "tests"}``.
- Difficulty subsets (RedStar's hard core) and, for each, a random control of the same size
  drawn from all SFT rows; with curators, a control of the curated set's size drawn from the
  uncurated pool (samples that passed the rule filters), as Collinear compares them.

Everything streams: chunk files are read in order and rows written as they come; controls are
drawn in a second pass by selection sampling, so memory does not grow with the data.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import random
from pathlib import Path

from data_recipes.funnel import Funnel
from redstar.config import ConfigError
from redstar.dataio import atomic_open, read_rows


def _messages(problem: dict, recipe, system: str | None, response: str | None = None) -> list[dict]:
    from data_recipes.sampling import prompt_messages

    msgs = prompt_messages(problem, recipe, system)
    return msgs + ([{"role": "assistant", "content": response}] if response is not None else [])


def _images(problem: dict, out: Path) -> list[str]:
    # paths relative to the output files, as the row contract says
    return [os.path.relpath(p, out) for p in problem.get("images") or []]


def _label(problem: dict) -> dict:
    from data_recipes.verification import kind_of

    answer = problem.get("answer") or ((problem.get("meta") or {}).get("crosscheck") or {}).get("answer")
    return {
        "answer": answer,
        "kind": kind_of(problem),
        "choices": problem.get("choices"),
        "tests": problem.get("tests"),
    }


def _in_range(level, lo, hi) -> bool:
    if level is None:
        return lo is None and hi is None
    return (lo is None or level >= lo) and (hi is None or level <= hi)


def _select(src: Path, dst: Path, k: int, seed: int) -> int:
    """Write a uniform random k of ``src``'s lines to ``dst`` in one streaming pass
    (Knuth's selection sampling: keep each line with probability still-needed / still-left)."""
    total = sum(1 for _ in open(src, encoding="utf-8")) if src.is_file() else 0
    rng = random.Random(seed)
    need, left, n = min(k, total), total, 0
    with atomic_open(dst) as f:
        for line in open(src, encoding="utf-8") if total else []:
            if need and rng.random() * left < need:
                f.write(line)
                need -= 1
                n += 1
            left -= 1
    return n


class _TokenCounter:
    def __init__(self, name: str | None):
        self.tok = None
        if name:
            from redstar.models import load_tokenizer

            self.tok = load_tokenizer(name)
        self.exact = self.tok is not None

    def __call__(self, text: str) -> int:
        if self.tok is not None:
            return len(self.tok(text, add_special_tokens=False)["input_ids"])
        return (len(text) + 3) // 4  # ~4 characters per token for English and LaTeX


def merge(recipe, out: Path) -> dict:
    from data_recipes.report import write_report
    from data_recipes.sampling import system_prompt

    out = Path(out)
    prep_file = out / "prep" / "funnel.json"
    if not prep_file.is_file():
        raise FileNotFoundError(f"{out}: no prep/funnel.json; run the shards first")
    prep = json.loads(prep_file.read_text())
    n_chunks = -(-prep["n_problems"] // recipe.run.chunk_size)
    missing = [k for k in range(n_chunks) if not (out / "chunks" / f"{k:05d}.done.json").is_file()]
    if missing:
        raise ConfigError(
            f"{out}: {len(missing)} of {n_chunks} chunks are not finished "
            f"(first: {missing[:5]}); run the missing shards (or --resume) before merging"
        )
    funnel = Funnel(prep["funnel"])
    ex, system = recipe.export, system_prompt(recipe)
    tokens = _TokenCounter(recipe.run.tokenizer)
    counts = {"samples": 0, "sft": 0, "preferences": 0, "rl_prompts": 0, "sft_tokens": 0, "pool": 0}
    subset_counts = {s.name: {"prompts": 0, "rows": 0} for s in ex.subsets}
    judge_names = [j.name for j in recipe.curators.judges] if recipe.curators.enabled else []
    votes = {name: [] for name in judge_names + ["ensemble"]}
    labels: list[int] = []
    use_curators = bool(judge_names) and recipe.curators.apply
    with contextlib.ExitStack() as stack:
        f_samples = stack.enter_context(atomic_open(out / "samples.jsonl"))
        f_sft = stack.enter_context(atomic_open(out / "sft.jsonl"))
        f_pref = stack.enter_context(atomic_open(out / "preferences.jsonl"))
        f_rl = stack.enter_context(atomic_open(out / "rl_prompts.jsonl"))
        f_pool = stack.enter_context(atomic_open(out / "work" / "uncurated_pool.jsonl")) if use_curators else None
        f_sub = {s.name: stack.enter_context(atomic_open(out / "subsets" / f"{s.name}.jsonl")) for s in ex.subsets}
        for k in range(n_chunks):
            funnel.merge(json.loads((out / "chunks" / f"{k:05d}.done.json").read_text())["funnel"])
            problems = {p["id"]: p for p in read_rows(out / "chunks" / f"{k:05d}.problems.jsonl")}
            samples = read_rows(out / "chunks" / f"{k:05d}.samples.jsonl")
            for pid, group in itertools.groupby(samples, key=lambda s: s["problem_id"]):
                group = list(group)
                p = problems[pid]
                images = _images(p, out)
                for s in group:
                    f_samples.write(json.dumps(s, ensure_ascii=False) + "\n")
                counts["samples"] += len(group)
                passed = [s for s in group if s["drop"] is None]
                for s in passed:
                    c = (s.get("verdict") or {}).get("correct")
                    if judge_names and c is not None and "curator" in s["scores"]:
                        labels.append(int(bool(c)))
                        for name in judge_names:
                            votes[name].append(s["scores"][f"curator:{name}"])
                        votes["ensemble"].append(s["scores"]["curator"])
                    if f_pool is not None:
                        f_pool.write(
                            json.dumps(
                                {"messages": _messages(p, recipe, system, s["response"]), "images": images},
                                ensure_ascii=False,
                            )
                            + "\n"
                        )
                        counts["pool"] += 1
                good = [
                    s
                    for s in passed
                    if (s.get("verdict") or {}).get("correct") and (not use_curators or s["scores"].get("curator"))
                ]
                bad = [
                    s
                    for s in group
                    if (s.get("verdict") or {}).get("correct") is False and s["drop"] in (None, "filter:answer")
                ]
                capped = good[: ex.sft_per_prompt] if ex.sft_per_prompt is not None else good
                for idx, s in enumerate(good):
                    funnel.add("export_sft", idx < len(capped), "per-prompt cap", s["source"], s["level"])
                sft_rows = [{"messages": _messages(p, recipe, system, s["response"]), "images": images} for s in capped]
                for row in sft_rows:
                    f_sft.write(json.dumps(row, ensure_ascii=False) + "\n")
                    counts["sft_tokens"] += tokens(row["messages"][-1]["content"])
                counts["sft"] += len(sft_rows)
                for g, b in list(zip(good, bad))[: ex.pairs_per_prompt]:
                    f_pref.write(
                        json.dumps(
                            {
                                "prompt": _messages(p, recipe, system),
                                "chosen": [{"role": "assistant", "content": g["response"]}],
                                "rejected": [{"role": "assistant", "content": b["response"]}],
                                "images": images,
                            },
                            ensure_ascii=False,
                        )
                        + "\n"
                    )
                    counts["preferences"] += 1
                label = _label(p)
                xcheck = ((p.get("meta") or {}).get("crosscheck") or {}).get("status", "agree")
                if (
                    ex.rl_prompts
                    and (label["answer"] or label["kind"] == "code")
                    and xcheck == "agree"
                    and (ex.rl_min_level is None or (p.get("difficulty") or 0) >= ex.rl_min_level)
                ):
                    f_rl.write(
                        json.dumps(
                            {
                                "prompt": _messages(p, recipe, system),
                                "label": label,
                                "images": images,
                                "datasource": p.get("source", ""),
                            },
                            ensure_ascii=False,
                        )
                        + "\n"
                    )
                    counts["rl_prompts"] += 1
                for spec in ex.subsets:
                    sc = subset_counts[spec.name]
                    if not sft_rows or not _in_range(p.get("difficulty"), spec.min_level, spec.max_level):
                        continue
                    if spec.max_prompts is not None and sc["prompts"] >= spec.max_prompts:
                        continue
                    take = sft_rows[: max(0, spec.max_rows - sc["rows"])]
                    if take:
                        sc["prompts"] += 1
                        sc["rows"] += len(take)
                        for row in take:
                            f_sub[spec.name].write(json.dumps(row, ensure_ascii=False) + "\n")
    # second pass: random controls of the same sizes
    for i, spec in enumerate(ex.subsets):
        if spec.control:
            subset_counts[spec.name]["control_rows"] = _select(
                out / "sft.jsonl",
                out / "subsets" / f"{spec.name}_control.jsonl",
                subset_counts[spec.name]["rows"],
                ex.seed + 1 + i,
            )
    if use_curators and ex.curated_control:
        counts["curated_control"] = _select(
            out / "work" / "uncurated_pool.jsonl", out / "subsets" / "curated_control.jsonl", counts["sft"], ex.seed
        )
    from data_recipes.curators import binary_metrics

    curator_metrics = {name: binary_metrics(v, labels) for name, v in votes.items()} if judge_names else {}
    summary = {
        "recipe": recipe.name,
        "counts": counts,
        "tokens_exact": tokens.exact,
        "subsets": subset_counts,
        "curators": curator_metrics,
        "funnel": funnel.to_dict(),
    }
    write_report(recipe, out, summary)
    return summary

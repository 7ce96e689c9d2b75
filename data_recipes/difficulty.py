"""Difficulty levels (1-10) and the level filter.

RedStar trains a difficulty model on MATH / Omni-MATH levels and keeps hard prompts
(level >= 7). Three ways to get a level here:

- ``field``: the source's own level (MATH "Level 5", TACO "HARD", a ``difficulty`` column);
- ``model``: a scorer model answers a prompt file (``{question}``) with a number 1-10;
- ``pass_rate``: k samples of a scorer are verified; level = 1 + 9 * (1 - pass rate), so a
  prompt nobody solves is a 10 and one always solved a 1.

    score_levels(problems, recipe, backends, chunk_index)   # fills problem["difficulty"]
    level_drop(problem, cfg)                                # None or "level < 7" etc.
"""

from __future__ import annotations

import re

from redstar.config import ConfigError

_NUMBER = re.compile(r"(?<![\d.])(10|[1-9])(?:\.\d+)?(?!\d|\.\d)")


def parse_level(text: str) -> float | None:
    """The last level-looking number (1-10) in a scorer's reply, or None."""
    found = _NUMBER.findall(text or "")
    return float(found[-1]) if found else None


def pass_rate_level(n_correct: int, k: int) -> float:
    return round(1 + 9 * (1 - n_correct / k), 2)


def score_levels(problems: list[dict], recipe, backends, chunk_index: int) -> None:
    from data_recipes.sampling import generate, prompt_messages

    cfg = recipe.difficulty
    if cfg.method in ("none", "field") or not problems:
        for p in problems:
            if p.get("difficulty") is None:
                p["difficulty"] = cfg.default_level
        return
    spec = cfg.scorer
    backend = backends.get(spec)
    if cfg.method == "model":
        template = cfg.prompt  # the text of prompt_file, read when the recipe loaded
        if template is None:
            raise ConfigError("difficulty.prompt_file was not read: load the recipe with load_recipe or resolve_recipe")
        msgs = [[{"role": "user", "content": template.replace("{question}", p["question"])}] for p in problems]
        outs = generate(
            backend, spec, problems, msgs, [1] * len(problems), 0.0, 1.0, cfg.max_new_tokens, seed=chunk_index
        )
        for p, texts in zip(problems, outs):
            level = parse_level(texts[0]) if texts else None
            p["meta"]["difficulty_raw"] = (texts[0] if texts else "")[-200:]
            p["difficulty"] = level if level is not None else cfg.default_level
        return
    # pass_rate: verify k scorer samples against the gold answer
    from data_recipes.verification import grade_samples

    msgs = [prompt_messages(p, recipe) for p in problems]
    outs = generate(
        backend, spec, problems, msgs, [cfg.k] * len(problems), 0.7, 0.95, cfg.max_new_tokens, seed=chunk_index
    )
    flat = [{"problem_id": p["id"], "response": t} for p, texts in zip(problems, outs) for t in texts]
    verdicts = grade_samples(flat, {p["id"]: p for p in problems}, recipe)
    i = 0
    for p, texts in zip(problems, outs):
        n_ok = sum(bool(v["correct"]) for v in verdicts[i : i + len(texts)])
        i += len(texts)
        p["meta"]["pass_rate"] = n_ok / max(1, len(texts))
        p["difficulty"] = pass_rate_level(n_ok, len(texts)) if texts else cfg.default_level


def level_drop(problem: dict, cfg) -> str | None:
    level = problem.get("difficulty")
    if level is None:
        if cfg.keep_unscored or (cfg.min_level is None and cfg.max_level is None):
            return None
        return "no difficulty level"
    if cfg.min_level is not None and level < cfg.min_level:
        return f"level < {cfg.min_level:g}"
    if cfg.max_level is not None and level > cfg.max_level:
        return f"level > {cfg.max_level:g}"
    return None

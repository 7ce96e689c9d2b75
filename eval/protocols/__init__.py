"""Each benchmark's published scoring procedure, re-implemented, for ``redstar eval --protocol
official|both``: numbers a reader can put beside a leaderboard's.

    verdicts, info = score_official("geoqa", items, responses)        # {id: [OfficialVerdict]}, {...}
    verdicts, info = score_official("mathvista-geo", items, responses, extracted=published)
    verdicts, info = score_official("mathvista-geo", items, responses, judge=backend)

| benchmark                       | official scorer                                   |
|---------------------------------|---------------------------------------------------|
| math-hard                       | lighteval ``quasi_exact_match_math``               |
| math500, aime24, aime25, gsm8k  | Qwen2.5-Math ``extract_answer`` + ``math_equal``   |
| geoqa                           | G-LLaVA ``geo_acc_calculate.py``                  |
| mathvista-geo                   | MathVista extraction + ``calculate_score.py``      |

Geometry3K has no published scorer of its own. The default protocol (``redstar``) is the
shared verifier; where the two disagree, results.jsonl lists the items.
"""

from __future__ import annotations

from typing import NamedTuple

OFFICIAL = {
    "math-hard": "lighteval",
    "math500": "qwen_math",
    "aime24": "qwen_math",
    "aime25": "qwen_math",
    "gsm8k": "qwen_math",
    "geoqa": "gllava",
    "mathvista-geo": "mathvista",
}
PROTOCOLS = ("redstar", "official", "both")


class OfficialVerdict(NamedTuple):
    correct: bool
    extracted: str | None
    reason: str


def protocol_module(benchmark: str):
    """The scorer module for ``benchmark``, or None when it has no published scorer."""
    import importlib

    name = OFFICIAL.get(benchmark)
    return importlib.import_module(f"eval.protocols.{name}") if name else None


def _judge_extractions(items, responses, judge, judge_cfg) -> dict[tuple[str, int], str]:
    """MathVista's extraction with a judge: the rules first (without the opt-in quoted-answer
    rule, as the official script runs by default), the LLM for every response they do not read,
    one request each through any generation backend (an OpenAI-compatible server, vLLM)."""
    from eval.protocols import mathvista as MV
    from redstar.generation import GenerationConfig, Request

    got, todo, reqs, by_prompt = {}, [], [], {}
    for it in items:
        f = MV.item_fields(it)
        for j, r in enumerate(responses[it.id]):
            q = MV.quick_extract(r, f, quoted=False)
            if q is not None:
                got[(it.id, j)] = q
                continue
            prompt = MV.judge_prompt(r, f)
            if prompt not in by_prompt:  # identical samples (greedy copies) are asked about once
                by_prompt[prompt] = len(reqs)
                reqs.append(Request(id=f"{it.id}#{j}", messages=[{"role": "user", "content": prompt}]))
            todo.append(((it.id, j), by_prompt[prompt]))
    if reqs:
        cfg = judge_cfg or GenerationConfig(n=1, temperature=0.0, max_new_tokens=1024)
        outs = judge.generate(reqs, cfg)
        for key, k in todo:
            got[key] = str(outs[k][0])
    _judge_extractions.asked = len(reqs)
    return got


def score_official(
    benchmark: str,
    items,
    responses: dict[str, list[str]],
    extracted: dict[str, list] | None = None,
    judge=None,
    judge_name: str | None = None,
    judge_cfg=None,
) -> tuple[dict[str, list[OfficialVerdict]], dict]:
    """``({item id: [OfficialVerdict per response]}, info)``; ``info`` names the scorer and, for
    MathVista, where extractions came from (``published``, ``judge: NAME``, ``quick rules``)."""
    from redstar.config import ConfigError

    mod = protocol_module(benchmark)
    if mod is None:
        raise ConfigError(f"{benchmark} has no published scorer to reproduce; use --protocol redstar")
    info = {"protocol": mod.NAME, "source": mod.SOURCE}
    judged: dict[tuple[str, int], str] = {}
    if benchmark == "mathvista-geo":
        have = bool(extracted) and all(extracted.get(it.id) is not None for it in items)
        if have:
            info["extraction"] = "published (extracted field of the responses file)"
        elif judge is not None:
            judged = _judge_extractions(items, responses, judge, judge_cfg)
            info["extraction"] = f"judge: {judge_name or getattr(judge, 'name', 'llm')}"
            info["judged_responses"] = _judge_extractions.asked
        else:
            info["extraction"] = "quick rules (no judge: unread responses extract as '')"
        if not have:
            extracted = None
    timeouts = getattr(getattr(mod, "math_equal_timed", None), "timeouts", 0)
    out, errors = {}, 0
    for it in items:
        row = []
        given = (extracted or {}).get(it.id) if benchmark == "mathvista-geo" else None
        for j, r in enumerate(responses[it.id]):
            ext = given[j] if given is not None else judged.get((it.id, j))
            try:
                if mod.NAME == "qwen2.5-math":
                    pred, ok = mod.score(it, r, benchmark=benchmark)
                else:
                    pred, ok = mod.score(it, r, extraction=ext)
            except Exception as e:  # noqa: BLE001 - one odd response must not stop a long run
                errors += 1
                row.append(OfficialVerdict(False, None, f"official: wrong (the scorer raised {type(e).__name__})"))
                continue
            row.append(OfficialVerdict(bool(ok), pred, "official: correct" if ok else "official: wrong"))
        out[it.id] = row
    info["errors"] = errors  # responses the scorer raised on, graded wrong
    if hasattr(mod, "math_equal_timed"):  # pairs past the original's time limit, graded wrong as there
        info["timeouts"] = mod.math_equal_timed.timeouts - timeouts
    return out, info

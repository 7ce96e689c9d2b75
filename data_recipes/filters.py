"""Rule filters on teacher samples (RedStar / AceMath): repetition loops, wrong language,
missing final answer, length limits, think-tag format, duplicate responses.

    results = apply_filters(sample, problem, cfg)   # {"repetition": True, "language": False, ...}
    reason = first_failure(results)                 # "language" or None

Each check is a pure function of the text so it can be tested on literal strings. They are
written for speed on long chains of thought (tens of kilobytes): zlib and ``str.count`` do the
heavy lifting in C, no per-token Python loops.
"""

from __future__ import annotations

import re
import zlib

# CJK ideographs, kana, hangul: the "wrong language" a long-CoT teacher drifts into most often
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
# ASCII bytes that are not letters: deleting them leaves the Latin letters, at C speed
# (a regex findall over every letter of a 10 kB response costs ten times more)
_NOT_LATIN = bytes(i for i in range(256) if not (65 <= i <= 90 or 97 <= i <= 122))
_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"
_CODE_BLOCK = re.compile(r"```")

ORDER = ("think_format", "length", "prompt_length", "language", "repetition", "answer", "duplicate")


def is_repetitive(text: str, max_tail_repeats: int = 4, min_compress_ratio: float = 0.08) -> bool:
    """A generation stuck in a loop: its last 50 characters recur ``max_tail_repeats`` times in
    the last 2,000 (the loop a max-length cut leaves), or the whole text compresses to under
    ``min_compress_ratio`` of its size (long repeated blocks anywhere)."""
    if len(text) >= 200:
        tail = text[-2000:]
        probe = text[-50:]
        if probe.strip() and tail.count(probe) >= max_tail_repeats:
            return True
    if len(text) >= 1000:
        data = text.encode("utf-8")
        if len(zlib.compress(data, 1)) / len(data) < min_compress_ratio:
            return True
    return False


def foreign_ratio(text: str, language: str = "en") -> float:
    """Share of letters outside the target script: CJK characters for English, Latin letters
    for Chinese (LaTeX commands and variable names make the latter a loose signal)."""
    cjk = len(_CJK.findall(text))
    latin = len(text.encode("ascii", "ignore").translate(None, _NOT_LATIN))
    total = cjk + latin
    if total == 0:
        return 0.0
    return cjk / total if language == "en" else latin / total


def think_format_ok(text: str) -> bool:
    """Exactly one <think> ... </think> block, at the start, followed by a non-empty answer."""
    if text.count(_THINK_CLOSE) != 1 or text.count(_THINK_OPEN) > 1:
        return False
    head, _, answer = text.partition(_THINK_CLOSE)
    if _THINK_OPEN in head and head.strip() and not head.lstrip().startswith(_THINK_OPEN):
        return False
    return bool(answer.strip())


def has_final_answer(sample: dict, problem: dict, answer_format: str = "boxed") -> bool:
    """Math / choice: the verifier extracted an answer, and with ``answer_format: boxed`` it
    stands in a ``\\boxed{}`` (the format the prompt asked for; the verifier's fallbacks would
    otherwise accept a last number anywhere). Code: a fenced code block."""
    if problem.get("domain") == "code":
        return len(_CODE_BLOCK.findall(sample["response"])) >= 2
    verdict = sample.get("verdict") or {}
    if verdict.get("extracted") in (None, ""):
        return False
    return answer_format != "boxed" or "\\boxed" in sample["response"]


def apply_filters(sample: dict, problem: dict, cfg, seen_responses: set | None = None) -> dict[str, bool]:
    """Run every enabled filter; ``True`` = passed. ``seen_responses`` holds hashes of this
    problem's earlier responses (exact duplicate responses keep only the first)."""
    text = sample["response"]
    out: dict[str, bool] = {}
    if cfg.think_tags:
        out["think_format"] = think_format_ok(text)
    n_words = len(text.split())
    out["length"] = n_words >= cfg.min_response_words and (
        cfg.max_response_words is None or n_words <= cfg.max_response_words
    )
    if cfg.max_prompt_words is not None:
        out["prompt_length"] = len(problem["question"].split()) <= cfg.max_prompt_words
    if cfg.language:
        out["language"] = foreign_ratio(text, cfg.language) <= cfg.max_foreign_ratio
    if cfg.repetition:
        out["repetition"] = not is_repetitive(text, cfg.max_tail_repeats, cfg.min_compress_ratio)
    if cfg.require_answer:
        out["answer"] = has_final_answer(sample, problem, cfg.answer_format)
    if cfg.dedup_responses and seen_responses is not None:
        h = hash(text.strip())
        out["duplicate"] = h not in seen_responses
        seen_responses.add(h)
    return out


def first_failure(results: dict[str, bool]) -> str | None:
    for name in ORDER:
        if results.get(name) is False:
            return name
    return None

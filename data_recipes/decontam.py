"""Decontamination against benchmark items (AceMath's rule).

    dc = Decontaminator.from_config(recipe.decontam, recipe)
    dc.check(problem)  # None, or {"benchmark", "item_id", "ngram_hits", "lcs_ratio", "item"}

Texts are normalised (lower case, punctuation stripped) and split into words. A problem is a
candidate when it shares a word n-gram (13 by default) with a benchmark item; an item shorter
than n matches when the problem contains it whole. For math problems AceMath also asks that
the longest common subsequence with the matched item cover more than 60% of the problem's
words (``math_rule: ngram_and_lcs``); other domains drop on the n-gram alone. Every removal
records the benchmark item it matched, so a report can show what was found.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from data_recipes.text import lcs_len, ngrams, words
from redstar.config import ConfigError
from redstar.dataio import read_rows

_QUESTION_KEYS = ("question", "problem", "Problem", "query", "text")
_ID_KEYS = ("id", "ID", "pid", "question_id", "_key")


def _load_items(spec, recipe) -> list[tuple[str, str]]:
    """(item id, question) pairs of one benchmark: through ``eval``'s loaders when ``benchmark``
    names one, else from a plain JSON / JSONL / Parquet file or directory."""
    path = spec.path  # absolute once the recipe is loaded, or a hub id
    if spec.benchmark:
        from eval.benchmarks import load_benchmark

        # a local copy when the path exists, else the path is taken as a hub id
        res = load_benchmark(spec.benchmark, path if Path(path).exists() else spec.path)
        return [(str(it.id), it.question) for it in res.items]
    if not Path(path).exists():
        raise FileNotFoundError(f"decontam benchmark {spec.name!r}: {path}: no such file or directory")
    out = []
    for i, row in enumerate(read_rows(path)):
        text = row.get(spec.field)
        if text is None:
            text = next((row[k] for k in _QUESTION_KEYS if isinstance(row.get(k), str)), None)
        if not isinstance(text, str):
            raise ConfigError(
                f"decontam benchmark {spec.name!r}: {path}[row {i}] has no question "
                f"field ({spec.field!r} or one of {_QUESTION_KEYS})"
            )
        item_id = next((row[k] for k in _ID_KEYS if row.get(k) is not None), i)
        out.append((str(item_id), text))
    return out


class Decontaminator:
    def __init__(
        self, items: list[tuple[str, str, str]], n: int = 13, lcs_ratio: float = 0.6, math_rule: str = "ngram_and_lcs"
    ):
        """``items``: (benchmark name, item id, question) triples."""
        self.n, self.lcs_ratio, self.math_rule = n, lcs_ratio, math_rule
        self.items: list[tuple[str, str, str, list[str]]] = []
        self.index: dict[tuple, list[int]] = {}
        self.short_lengths: set[int] = set()
        for bench, item_id, text in items:
            toks = words(text)
            if not toks:
                continue
            k = len(self.items)
            self.items.append((bench, item_id, text, toks))
            if len(toks) < n:
                self.short_lengths.add(len(toks))
            for g in ngrams(toks, n):
                self.index.setdefault(g, []).append(k)

    @classmethod
    def from_config(cls, cfg, recipe) -> Decontaminator:
        items = [(spec.name, item_id, q) for spec in cfg.benchmarks for item_id, q in _load_items(spec, recipe)]
        return cls(items, cfg.ngram, cfg.lcs_ratio, cfg.math_rule)

    def __len__(self) -> int:
        return len(self.items)

    def check(self, problem: dict) -> dict | None:
        if not self.items:
            return None
        toks = words(problem["question"])
        if not toks:
            return None
        hits: Counter = Counter()
        grams = ngrams(toks, self.n) if len(toks) >= self.n else set()
        for length in self.short_lengths:
            grams |= ngrams(toks, length) if len(toks) >= length else set()
        if len(toks) < self.n:
            grams.add(tuple(toks))
        for g in grams:
            for k in self.index.get(g, ()):
                hits[k] += 1
        if not hits:
            return None
        need_lcs = problem.get("domain", "math") != "code" and self.math_rule == "ngram_and_lcs"
        for k, count in hits.most_common(5):
            bench, item_id, text, itoks = self.items[k]
            ratio = lcs_len(toks, itoks) / len(toks) if need_lcs else None
            if need_lcs and ratio <= self.lcs_ratio:
                continue
            return {
                "benchmark": bench,
                "item_id": item_id,
                "ngram_hits": count,
                "lcs_ratio": None if ratio is None else round(ratio, 3),
                "item": text[:200],
            }
        return None

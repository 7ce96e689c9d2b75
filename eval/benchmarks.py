"""The benchmark table: name -> loader, prompt file, hub default and what its categories mean.

res = load_benchmark("mathvista-geo", "data/testmini.json", subset="skill")
print(res.summary())            # read 1000 rows, kept 239, left out 761 (...), skipped 0
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from eval.items import LoadResult
from redstar.config import ConfigError


@dataclass(frozen=True)
class Benchmark:
    name: str
    loader: Callable[..., LoadResult]
    prompt: str  # redstar/prompts/<prompt>.txt
    hub_id: str  # a public copy in the shape the loader reads
    category: str  # what the per-category breakdown is over
    vision: bool = False
    split: str | None = None  # split read from a hub id / saved dataset when --split is not given


def _table() -> dict[str, Benchmark]:
    from eval.loaders.aime import load_aime24, load_aime25
    from eval.loaders.geometry3k import load_geometry3k
    from eval.loaders.geoqa import load_geoqa
    from eval.loaders.math import load_gsm8k, load_math, load_math500
    from eval.loaders.mathvista import load_mathvista

    return {
        b.name: b
        for b in [
            Benchmark("math-hard", load_math, "math", "lighteval/MATH-Hard", "MATH type", split="test"),
            Benchmark("math500", load_math500, "math", "HuggingFaceH4/MATH-500", "MATH type", split="test"),
            Benchmark("aime24", load_aime24, "math", "HuggingFaceH4/aime_2024", "none", split="train"),
            Benchmark("aime25", load_aime25, "math", "opencompass/AIME2025", "none"),
            Benchmark("gsm8k", load_gsm8k, "math", "openai/gsm8k", "none", split="test"),
            Benchmark("geoqa", load_geoqa, "choice", "(local G-LLaVA files)", "angle / length / other", vision=True),
            Benchmark(
                "mathvista-geo",
                load_mathvista,
                "vision_math",
                "AI4Math/MathVista",
                "MathVista skills",
                vision=True,
                split="testmini",
            ),
            Benchmark("geometry3k", load_geometry3k, "choice", "hiyouga/geometry3k", "none", vision=True, split="test"),
        ]
    }


BENCHMARK_NAMES = ("math-hard", "math500", "aime24", "aime25", "gsm8k", "geoqa", "mathvista-geo", "geometry3k")


def get_benchmark(name: str) -> Benchmark:
    table = _table()
    if name not in table:
        raise ConfigError(f"unknown benchmark {name!r}; choose one of {', '.join(BENCHMARK_NAMES)}")
    return table[name]


def load_benchmark(
    name: str,
    source: str,
    split: str | None = None,
    subset: str | None = None,
    image_root: str | None = None,
    allow_pickle: bool = False,
    limit: int | None = None,
    strict: bool = False,
) -> LoadResult:
    """Load ``name`` from a local path or hub id; ``limit`` keeps the first N items; ``strict``
    raises ``RowError`` at the first malformed row instead of skipping it."""
    bench = get_benchmark(name)
    kwargs: dict = {"split": split or bench.split, "strict": strict}
    if name == "mathvista-geo":
        kwargs.update(subset=subset, image_root=image_root)
    elif subset is not None:
        raise ConfigError(f"--subset applies to mathvista-geo only, not {name}")
    if name in ("geoqa", "geometry3k"):
        kwargs["image_root"] = image_root
    if name == "geoqa":
        kwargs["allow_pickle"] = allow_pickle
    res = bench.loader(source, **kwargs)
    if limit is not None:
        res.items = res.items[:limit]
    return res

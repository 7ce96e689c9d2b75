"""The recipe schema: one dataclass per stage, composed by ``Recipe`` (YAML holds the values).

    recipe = load_recipe("data_recipes/recipes/redstar_math.yaml", ["sampling.teachers.0.n=4"])

Paths inside a recipe (sources, benchmark files, replay files, prompt files) are relative to
the recipe file, so a recipe directory can be moved as a whole. Every stage can be switched
off (``enabled: false``); the funnel report then shows it as a pass-through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from redstar.config import ConfigError, load_config


@dataclass
class SourceSpec:
    """One problem pool. ``preset`` picks a field mapping (see ``sources.PRESETS``); ``fields``
    overrides single entries of it (target field -> column name in the source)."""

    path: str
    preset: str = "problem"
    name: str = ""
    split: str | None = None
    config_name: str | None = None
    domain: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    limit: int | None = None
    # false: math prompts without a gold answer are kept (AceMath's synthetic prompts); the
    # cross-check consensus of the teachers then becomes their label
    require_answer: bool = True


@dataclass
class DedupConfig:
    enabled: bool = True
    exact: bool = True
    near: bool = True
    threshold: float = field(default=0.8, metadata={"help": "estimated Jaccard similarity of word shingles"})
    num_perm: int = 128
    shingle: int = field(default=3, metadata={"help": "words per shingle"})


@dataclass
class BenchmarkSpec:
    """A benchmark to decontaminate against: an ``eval`` loader name (``benchmark``) or a plain
    Problem / JSONL file (``path``; the question is read from ``field``)."""

    name: str
    path: str
    benchmark: str | None = None
    field: str = "question"


@dataclass
class DecontamConfig:
    enabled: bool = True
    benchmarks: list[BenchmarkSpec] = field(default_factory=list)
    ngram: int = 13
    lcs_ratio: float = field(default=0.6, metadata={"help": "AceMath: math prompts also need LCS > 60% of their length"})
    math_rule: str = field(default="ngram_and_lcs", metadata={"help": "ngram_and_lcs | ngram | ngram_or_lcs"})


@dataclass
class BackendSpec:
    """Which generation backend to build (``redstar.generation.make_backend``)."""

    backend: str = field(default="replay", metadata={"help": "hf | vllm | openai | replay"})
    model: str = "default"
    base_url: str | None = None
    path: str | None = field(default=None, metadata={"help": "replay: responses file (rows: id, responses)"})
    chat_template: str | None = field(default=None, metadata={"help": "hf: a Jinja file replacing the tokenizer's template"})
    options: dict = field(default_factory=dict)


@dataclass
class DifficultyConfig:
    """``field``: keep the source's level; ``model``: ask a model for a 1-10 level with a prompt
    file; ``pass_rate``: sample k answers and map the failure rate to a level."""

    method: str = field(default="field", metadata={"help": "none | field | model | pass_rate"})
    scorer: BackendSpec = field(default_factory=BackendSpec)
    prompt_file: str = "difficulty.txt"
    k: int = 4
    max_new_tokens: int = 512
    default_level: float | None = None
    min_level: float | None = None
    max_level: float | None = None
    keep_unscored: bool = field(default=True, metadata={"help": "a problem without a level passes the level filter"})


@dataclass
class TeacherSpec:
    name: str = "teacher"
    backend: BackendSpec = field(default_factory=BackendSpec)
    n: int = 4
    temperature: float = 0.7
    top_p: float = 0.95
    max_new_tokens: int = 4096
    seed: int = 0


@dataclass
class SamplingConfig:
    teachers: list[TeacherSpec] = field(default_factory=lambda: [TeacherSpec()])
    system_prompt: str | None = None
    system_prompt_file: str | None = None
    prompt_suffix: str = ""
    code_suffix: str = ""
    # samples per prompt by difficulty level: the entry with the largest level <= the prompt's
    # level wins (RedStar: more samples for harder prompts); empty = the teacher's n
    n_by_level: dict[str, int] = field(default_factory=dict)
    batch_size: int = 32
    # a response cut off at max_new_tokens (finish reason "length") has no real final answer:
    # dropped before any check, counted in the funnel as "truncated"
    drop_truncated: bool = True


@dataclass
class VerifyConfig:
    enabled: bool = True
    timeout: float = 5.0
    workers: int = 1
    sandbox: str = field(default="bwrap", metadata={"help": "where code runs: bwrap | none (recorded) | http(s):// SandboxFusion"})


@dataclass
class FilterConfig:
    enabled: bool = True
    language: str | None = field(default="en", metadata={"help": "en | zh | None (off)"})
    max_foreign_ratio: float = 0.05
    repetition: bool = True
    max_tail_repeats: int = field(default=4, metadata={"help": "the last 50 characters recur this often in the last 2,000"})
    min_compress_ratio: float = 0.08
    require_answer: bool = True
    answer_format: str = field(default="boxed", metadata={"help": "boxed | any (any answer the verifier can extract)"})
    max_response_words: int | None = field(default=None, metadata={"help": "AceMath: 2,500"})
    min_response_words: int = 1
    max_prompt_words: int | None = field(default=None, metadata={"help": "AceMath: 300 for synthetic prompts"})
    think_tags: bool = field(default=False, metadata={"help": "require one <think>...</think> block then an answer"})
    dedup_responses: bool = True


@dataclass
class CrossCheckConfig:
    """AceMath: two samples of teacher A must agree, then teacher B must match."""

    enabled: bool = False
    teacher_a: str = "a"
    teacher_b: str = "b"
    min_agree: int = 2
    only_without_gold: bool = field(default=False, metadata={"help": "check only problems that have no gold answer"})


@dataclass
class JudgeSpec:
    """One curator. ``llm``: a judge model with a prompt file answering JSON {"output": 0|1};
    ``rm``: a reward score (from ``scores_file`` or the sample's ``scores``) >= threshold;
    ``column``: a stored judgment in the problem's meta (e.g. Collinear's ``correctness.C1``);
    ``verifier``: the verifier's verdict itself."""

    name: str
    kind: str = field(default="llm", metadata={"help": "llm | rm | column | verifier"})
    backend: BackendSpec = field(default_factory=BackendSpec)
    prompt_file: str = "judge_binary.txt"
    max_new_tokens: int = 256
    threshold: float = 0.0
    scores_file: str | None = None
    column: str | None = None


@dataclass
class CuratorConfig:
    enabled: bool = False
    judges: list[JudgeSpec] = field(default_factory=list)
    combine: str = field(default="all", metadata={"help": "all | majority | any"})
    apply: bool = field(default=True, metadata={"help": "drop rejected samples from the SFT export"})


@dataclass
class SubsetSpec:
    """A difficulty subset of the SFT rows (e.g. RedStar's hard 4k core) plus a random control
    subset of the same size."""

    name: str
    min_level: float | None = None
    max_level: float | None = None
    max_prompts: int | None = None
    max_rows: int = 4000
    control: bool = True


@dataclass
class ExportConfig:
    sft_per_prompt: int | None = 4
    pairs_per_prompt: int = 2
    rl_prompts: bool = True
    rl_min_level: float | None = None
    subsets: list[SubsetSpec] = field(default_factory=list)
    curated_control: bool = True
    seed: int = 0


@dataclass
class RunConfig:
    chunk_size: int = field(default=64, metadata={"help": "problems per shard output (the unit of resume)"})
    skip_bad: bool = field(default=True, metadata={"help": "malformed source rows are dropped and counted"})
    progress: bool = True
    tokenizer: str | None = field(default=None, metadata={"help": "count kept tokens with this tokenizer (else ~chars/4)"})


@dataclass
class Recipe:
    name: str = "recipe"
    description: str = ""
    sources: list[SourceSpec] = field(default_factory=list)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    decontam: DecontamConfig = field(default_factory=DecontamConfig)
    difficulty: DifficultyConfig = field(default_factory=DifficultyConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    verify: VerifyConfig = field(default_factory=VerifyConfig)
    filters: FilterConfig = field(default_factory=FilterConfig)
    crosscheck: CrossCheckConfig = field(default_factory=CrossCheckConfig)
    curators: CuratorConfig = field(default_factory=CuratorConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    run: RunConfig = field(default_factory=RunConfig)
    base_dir: str = field(default="", metadata={"help": "filled by load_recipe: the recipe file's directory"})


def resolve(recipe: Recipe, path: str | None) -> str | None:
    """A recipe path made absolute against the recipe's directory; ``pkg:`` paths point into
    the installed ``data_recipes`` package (shipped prompts and data)."""
    if path is None:
        return None
    from redstar.prompts import find_prompt

    if path.startswith("pkg:"):
        shipped = Path(__file__).parent / path[4:]
        prompt = None if shipped.exists() else find_prompt(path)
        return str(prompt or shipped)
    p = Path(path).expanduser()
    if p.is_absolute() or not recipe.base_dir:
        return str(p)
    local = Path(recipe.base_dir) / p
    if local.exists():
        return str(local)
    if (Path(__file__).parent / p).exists():
        return str(Path(__file__).parent / p)  # shipped data/ as a fallback
    prompt = find_prompt(path) if p.suffix == ".txt" else None  # a prompt shipped in redstar/prompts
    return str(prompt or local)


def load_recipe(path: str, overrides: list[str] | None = None) -> Recipe:
    recipe = load_config(Recipe, path, overrides)
    recipe.base_dir = str(Path(path).resolve().parent)
    for s in (recipe.sampling.n_by_level or {}):
        try:
            float(s)
        except ValueError:
            raise ConfigError(f"{path}: sampling.n_by_level key {s!r} is not a level number") from None
    for name, value, allowed in (
        ("difficulty.method", recipe.difficulty.method, ("none", "field", "model", "pass_rate")),
        ("curators.combine", recipe.curators.combine, ("all", "majority", "any")),
        ("decontam.math_rule", recipe.decontam.math_rule, ("ngram_and_lcs", "ngram", "ngram_or_lcs")),
    ):
        if value not in allowed:
            raise ConfigError(f"{path}: '{name}' = {value!r} must be one of {list(allowed)}")
    for j in recipe.curators.judges:
        if j.kind not in ("llm", "rm", "column", "verifier"):
            raise ConfigError(f"{path}: curator '{j.name}' has unknown kind {j.kind!r}")
    names = [t.name for t in recipe.sampling.teachers]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: teacher names must be unique, got {names}")
    if recipe.crosscheck.enabled:
        for key in ("teacher_a", "teacher_b"):
            if getattr(recipe.crosscheck, key) not in names:
                raise ConfigError(f"{path}: crosscheck.{key} = {getattr(recipe.crosscheck, key)!r} "
                                  f"is not a teacher (teachers: {names})")
    return recipe

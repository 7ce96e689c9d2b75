"""The recipe schema: one dataclass per stage, composed by ``Recipe`` (YAML holds the values).

    recipe = load_recipe("data_recipes/recipes/redstar_math.yaml", ["sampling.teachers.0.n=4"])

Paths inside a recipe (sources, benchmark files, replay files, prompt files) are relative to
the recipe file, so a recipe directory can be moved as a whole; a path given as a ``key=value``
override is relative to the current directory. ``load_recipe`` resolves every path key once
(``path_keys``) to an absolute path and reads the prompt files the stages use, so a missing
prompt fails at load naming the key, and the stages read ``recipe`` as it is. Every stage can
be switched off (``enabled: false``); the funnel report then shows it as a pass-through.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from redstar.config import ConfigError, load_config, parse_override


@dataclass
class SourceSpec:
    """One problem pool. ``preset`` picks a field mapping (see ``sources.PRESETS``); ``fields``
    overrides single entries of it (target field -> column name in the source)."""

    path: str = field(metadata={"help": "problem file, directory or hub id (relative to the recipe file)"})
    preset: str = field(
        default="problem",
        metadata={"help": "field mapping of a published pool: problem, numina, metamath, taco, geoqa, math, collinear"},
    )
    name: str = field(default="", metadata={"help": 'source name in ids and reports ("": the file name)'})
    split: str | None = field(default=None, metadata={"help": "dataset split of a hub id"})
    config_name: str | None = field(default=None, metadata={"help": "dataset config of a hub id"})
    streaming: bool = field(
        default=False,
        metadata={
            "help": "hub id: stream its rows as they download (datasets streaming=True) instead of caching it whole"
        },
    )
    domain: str | None = field(
        default=None, metadata={"help": "set every problem's domain (math, code, geo); null: the preset's"}
    )
    fields: dict[str, str] = field(
        default_factory=dict, metadata={"help": "overrides of single preset entries: Problem field -> source column"}
    )
    limit: int | None = field(default=None, metadata={"help": "problems taken from this source at most (null: all)"})
    # false: math prompts without a gold answer are kept (AceMath's synthetic prompts); the
    # cross-check consensus of the teachers then becomes their label
    require_answer: bool = field(
        default=True,
        metadata={
            "help": "false: math prompts without a gold answer are kept, and the teachers' cross-check consensus becomes their label"
        },
    )


@dataclass
class DedupConfig:
    enabled: bool = field(default=True, metadata={"help": "run this stage (false: pass everything through)"})
    exact: bool = field(default=True, metadata={"help": "drop problems whose normalised text repeats an earlier one"})
    near: bool = field(default=True, metadata={"help": "drop near-duplicates (MinHash over word shingles)"})
    threshold: float = field(default=0.8, metadata={"help": "estimated Jaccard similarity of word shingles"})
    num_perm: int = field(default=128, metadata={"help": "MinHash permutations"})
    shingle: int = field(default=3, metadata={"help": "words per shingle"})


@dataclass
class BenchmarkSpec:
    """A benchmark to decontaminate against: an ``eval`` loader name (``benchmark``) or a plain
    Problem / JSONL file (``path``; the question is read from ``field``)."""

    name: str = field(metadata={"help": "benchmark name in the report"})
    path: str = field(metadata={"help": "its file, directory or hub id (relative to the recipe file)"})
    benchmark: str | None = field(
        default=None,
        metadata={"help": "an eval loader name (math-hard, aime24, ...) to read it; null: a Problem / JSONL file"},
    )
    field: str = field(default="question", metadata={"help": "the column holding the question, for a plain file"})


@dataclass
class DecontamConfig:
    enabled: bool = field(default=True, metadata={"help": "run this stage (false: pass everything through)"})
    benchmarks: list[BenchmarkSpec] = field(
        default_factory=list, metadata={"help": "benchmarks whose questions must not be trained on"}
    )
    ngram: int = field(
        default=13, metadata={"help": "a shared word n-gram of this length marks a problem as contaminated"}
    )
    lcs_ratio: float = field(
        default=0.6, metadata={"help": "AceMath: math prompts also need LCS > 60% of their length"}
    )
    math_rule: Literal["ngram_and_lcs", "ngram", "ngram_or_lcs"] = field(
        default="ngram_and_lcs", metadata={"help": "ngram_and_lcs | ngram | ngram_or_lcs"}
    )


@dataclass
class BackendSpec:
    """Which generation backend to build (``redstar.generation.make_backend``)."""

    backend: Literal["hf", "transformers", "vllm", "openai", "replay", "inline"] = field(
        default="replay",
        metadata={
            "help": "hf (transformers) | vllm | openai | replay (stored responses) | inline (responses stored in the source rows)"
        },
    )
    model: str = field(default="default", metadata={"help": "model directory, hub id, or default (the embedded model)"})
    base_url: str | None = field(default=None, metadata={"help": "OpenAI-compatible server URL (backend openai)"})
    path: str | None = field(default=None, metadata={"help": "replay: responses file (rows: id, responses)"})
    chat_template: str | None = field(
        default=None, metadata={"help": "hf: a Jinja file replacing the tokenizer's template"}
    )
    options: dict = field(
        default_factory=dict, metadata={"help": "further backend options (dtype, tensor_parallel_size, ...)"}
    )


@dataclass
class DifficultyConfig:
    """``field``: keep the source's level; ``model``: ask a model for a 1-10 level with a prompt
    file; ``pass_rate``: sample k answers and map the failure rate to a level."""

    method: Literal["none", "field", "model", "pass_rate"] = field(
        default="field", metadata={"help": "none | field | model | pass_rate"}
    )
    scorer: BackendSpec = field(
        default_factory=BackendSpec, metadata={"help": "the model that rates (model) or answers (pass_rate)"}
    )
    prompt_file: str = field(
        default="difficulty.txt", metadata={"help": "rating prompt for method model (a shipped prompt or a path)"}
    )
    prompt: str | None = field(
        default=None, metadata={"help": "method model: the text of prompt_file, read when the recipe loads"}
    )
    k: int = field(default=4, metadata={"help": "answers sampled per problem for method pass_rate"})
    max_new_tokens: int = field(default=512, metadata={"help": "tokens per rating or answer"})
    default_level: float | None = field(
        default=None, metadata={"help": "level of a problem that could not be rated (null: unrated)"}
    )
    min_level: float | None = field(
        default=None, metadata={"help": "keep problems at this level or above (null: no floor)"}
    )
    max_level: float | None = field(
        default=None, metadata={"help": "keep problems at this level or below (null: no ceiling)"}
    )
    keep_unscored: bool = field(default=True, metadata={"help": "a problem without a level passes the level filter"})


@dataclass
class TeacherSpec:
    name: str = field(default="teacher", metadata={"help": "teacher name in samples and reports"})
    backend: BackendSpec = field(default_factory=BackendSpec, metadata={"help": "which model and backend"})
    n: int = field(default=4, metadata={"help": "samples per prompt"})
    temperature: float = field(default=0.7, metadata={"help": "sampling temperature"})
    top_p: float = field(default=0.95, metadata={"help": "nucleus sampling threshold"})
    top_k: int = field(
        default=0, metadata={"help": "top-k sampling (0: off); set on every backend, never the model's default"}
    )
    repetition_penalty: float = field(
        default=1.0, metadata={"help": "repetition penalty (1.0: off); set on every backend, never the model's default"}
    )
    max_new_tokens: int = field(default=4096, metadata={"help": "tokens per response"})
    seed: int = field(default=0, metadata={"help": "sampling seed"})


@dataclass
class SamplingConfig:
    teachers: list[TeacherSpec] = field(
        default_factory=lambda: [TeacherSpec()], metadata={"help": "the models that write solutions"}
    )
    system_prompt: str | None = field(
        default=None,
        metadata={"help": "system turn of every sampling prompt (null: none; set from system_prompt_file when given)"},
    )
    system_prompt_file: str | None = field(
        default=None, metadata={"help": "the same, read from a file: a path, or a prompt shipped in redstar/prompts/"}
    )
    prompt_suffix: str = field(
        default="", metadata={"help": "appended to every math question (the answer-format instruction)"}
    )
    code_suffix: str = field(default="", metadata={"help": "appended to every code question"})
    # samples per prompt by difficulty level: the entry with the largest level <= the prompt's
    # level wins (RedStar: more samples for harder prompts); empty = the teacher's n
    n_by_level: dict[str, int] = field(
        default_factory=dict,
        metadata={
            "help": "samples per prompt by difficulty level: the entry with the largest level <= the prompt's wins (empty: the teacher's n)"
        },
    )
    batch_size: int = field(
        default=0,
        metadata={
            "help": "prompts per backend call, each with its own n (0: a whole chunk in one call; the engine schedules it)"
        },
    )
    # a response cut off at max_new_tokens (finish reason "length") has no real final answer:
    # dropped before any check, counted in the funnel as "truncated"
    drop_truncated: bool = field(
        default=True,
        metadata={"help": "drop responses cut off at max_new_tokens (no real final answer), counted as truncated"},
    )


@dataclass
class VerifyConfig:
    enabled: bool = field(default=True, metadata={"help": "run this stage (false: pass everything through)"})
    timeout: float = field(default=5.0, metadata={"help": "seconds per answer check before it counts as wrong"})
    workers: int = field(default=1, metadata={"help": "grading processes"})
    sandbox: str = field(
        default="bwrap", metadata={"help": "where code runs: bwrap | none (recorded) | http(s):// SandboxFusion"}
    )


@dataclass
class FilterConfig:
    enabled: bool = field(default=True, metadata={"help": "run this stage (false: pass everything through)"})
    language: Literal["en", "zh"] | None = field(default="en", metadata={"help": "en | zh | None (off)"})
    max_foreign_ratio: float = field(
        default=0.05, metadata={"help": "largest share of characters outside the expected script"}
    )
    repetition: bool = field(default=True, metadata={"help": "drop responses caught in a repetition loop"})
    max_tail_repeats: int = field(
        default=4, metadata={"help": "the last 50 characters recur this often in the last 2,000"}
    )
    min_compress_ratio: float = field(
        default=0.08, metadata={"help": "a response that compresses below this share of its size is repetitive"}
    )
    require_answer: bool = field(default=True, metadata={"help": "drop responses with no extractable final answer"})
    answer_format: Literal["boxed", "any"] = field(
        default="boxed", metadata={"help": "boxed | any (any answer the verifier can extract)"}
    )
    max_response_words: int | None = field(default=None, metadata={"help": "AceMath: 2,500"})
    min_response_words: int = field(default=1, metadata={"help": "shortest response kept, in words"})
    max_prompt_words: int | None = field(default=None, metadata={"help": "AceMath: 300 for synthetic prompts"})
    think_tags: bool = field(default=False, metadata={"help": "require one <think>...</think> block then an answer"})
    dedup_responses: bool = field(
        default=True, metadata={"help": "drop a response identical to an earlier one for the same problem"}
    )


@dataclass
class CrossCheckConfig:
    """AceMath: two samples of teacher A must agree, then teacher B must match."""

    enabled: bool = field(default=False, metadata={"help": "run this stage (false: pass everything through)"})
    teacher_a: str = field(default="a", metadata={"help": "the teacher whose samples must agree among themselves"})
    teacher_b: str = field(default="b", metadata={"help": "the teacher that must then match them"})
    min_agree: int = field(default=2, metadata={"help": "samples of teacher_a that must give the same answer"})
    only_without_gold: bool = field(default=False, metadata={"help": "check only problems that have no gold answer"})


@dataclass
class JudgeSpec:
    """One curator. ``llm``: a judge model with a prompt file answering JSON {"output": 0|1};
    ``rm``: a reward score (from ``scores_file`` or the sample's ``scores``) >= threshold;
    ``column``: a stored judgment in the problem's meta (e.g. Collinear's ``correctness.C1``);
    ``verifier``: the verifier's verdict itself."""

    name: str = field(metadata={"help": "curator name in the funnel report"})
    kind: Literal["llm", "rm", "column", "verifier"] = field(
        default="llm", metadata={"help": "llm | rm | column | verifier"}
    )
    backend: BackendSpec = field(default_factory=BackendSpec, metadata={"help": "judge model (kind llm)"})
    prompt_file: str = field(
        default="judge_binary.txt", metadata={"help": "judge prompt (kind llm; a shipped prompt or a path)"}
    )
    prompt: str | None = field(
        default=None, metadata={"help": "kind llm: the text of prompt_file, read when the recipe loads"}
    )
    max_new_tokens: int = field(default=256, metadata={"help": "tokens per judgment (kind llm)"})
    threshold: float = field(default=0.0, metadata={"help": "lowest passing reward score (kind rm)"})
    scores_file: str | None = field(
        default=None,
        metadata={"help": "`redstar rm score` output holding the scores (kind rm; null: the sample's scores)"},
    )
    column: str | None = field(
        default=None,
        metadata={"help": "the score key (kind rm) or the stored judgment's path in the problem's meta (kind column)"},
    )


@dataclass
class CuratorConfig:
    enabled: bool = field(default=False, metadata={"help": "run this stage (false: pass everything through)"})
    judges: list[JudgeSpec] = field(
        default_factory=list, metadata={"help": "the curators; a sample is kept when every judge passes it"}
    )
    combine: Literal["all", "majority", "any"] = field(default="all", metadata={"help": "all | majority | any"})
    apply: bool = field(default=True, metadata={"help": "drop rejected samples from the SFT export"})


@dataclass
class SubsetSpec:
    """A difficulty subset of the SFT rows (e.g. RedStar's hard 4k core) plus a random control
    subset of the same size."""

    name: str = field(metadata={"help": "subset name (subsets/<name>.jsonl)"})
    min_level: float | None = field(
        default=None, metadata={"help": "lowest difficulty level in the subset (null: no floor)"}
    )
    max_level: float | None = field(
        default=None, metadata={"help": "highest difficulty level in the subset (null: no ceiling)"}
    )
    max_prompts: int | None = field(default=None, metadata={"help": "prompts in the subset at most (null: all)"})
    max_rows: int = field(default=4000, metadata={"help": "SFT rows in the subset at most"})
    control: bool = field(default=True, metadata={"help": "also write a random control subset of the same size"})


@dataclass
class ExportConfig:
    sft_per_prompt: int | None = field(
        default=4, metadata={"help": "verified samples kept as SFT rows per prompt (null: all)"}
    )
    pairs_per_prompt: int = field(
        default=2, metadata={"help": "preference pairs (verified vs failed sample) per prompt at most"}
    )
    rl_prompts: bool = field(default=True, metadata={"help": "write RL prompt rows (rl_prompts.jsonl)"})
    rl_min_level: float | None = field(
        default=None, metadata={"help": "RL prompts only from this difficulty level up (null: all)"}
    )
    subsets: list[SubsetSpec] = field(
        default_factory=list, metadata={"help": "difficulty subsets of the SFT rows, each with a random control"}
    )
    curated_control: bool = field(
        default=True,
        metadata={"help": "also write a random subset of the uncurated pool the size of the curated SFT rows"},
    )
    seed: int = field(default=0, metadata={"help": "seed of the random controls"})


@dataclass
class RunConfig:
    chunk_size: int = field(default=64, metadata={"help": "problems per shard output (the unit of resume)"})
    skip_bad: bool = field(default=True, metadata={"help": "malformed source rows are dropped and counted"})
    progress: bool = field(default=True, metadata={"help": "show progress bars"})
    tokenizer: str | None = field(
        default=None, metadata={"help": "count kept tokens with this tokenizer (else ~chars/4)"}
    )


@dataclass
class Recipe:
    name: str = field(default="recipe", metadata={"help": "recipe name (reports, dataset card)"})
    description: str = field(default="", metadata={"help": "what the recipe is for (dataset card)"})
    sources: list[SourceSpec] = field(default_factory=list, metadata={"help": "the problem pools"})
    dedup: DedupConfig = field(default_factory=DedupConfig, metadata={"help": "problem deduplication"})
    decontam: DecontamConfig = field(default_factory=DecontamConfig, metadata={"help": "benchmark decontamination"})
    difficulty: DifficultyConfig = field(
        default_factory=DifficultyConfig, metadata={"help": "difficulty levels and the level filter"}
    )
    sampling: SamplingConfig = field(default_factory=SamplingConfig, metadata={"help": "teacher sampling"})
    verify: VerifyConfig = field(
        default_factory=VerifyConfig, metadata={"help": "answer verification against the gold"}
    )
    filters: FilterConfig = field(default_factory=FilterConfig, metadata={"help": "rule filters on the samples"})
    crosscheck: CrossCheckConfig = field(
        default_factory=CrossCheckConfig, metadata={"help": "AceMath's two-teacher agreement"}
    )
    curators: CuratorConfig = field(
        default_factory=CuratorConfig, metadata={"help": "judges that keep or drop samples"}
    )
    export: ExportConfig = field(
        default_factory=ExportConfig, metadata={"help": "what is written: SFT, preference and RL rows, subsets"}
    )
    run: RunConfig = field(
        default_factory=RunConfig, metadata={"help": "how the run executes (chunks, workers, resume)"}
    )
    base_dir: str = field(default="", metadata={"help": "filled by load_recipe: the recipe file's directory"})


# path keys and what they may name: "file" (a file or directory), "data" (also a hub dataset
# id), "model" (a model directory or file, a hub id, or a built-in name), "prompt" (a prompt
# file, or the name of a prompt shipped in redstar/prompts/)
PathKind = Literal["file", "data", "model", "prompt"]


def path_keys(recipe: Recipe) -> list[tuple[str, object, str, PathKind]]:
    """Every path-valued key of ``recipe``: ``(dotted key, object, attribute, kind)``."""
    keys: list[tuple[str, object, str, PathKind]] = []
    for i, s in enumerate(recipe.sources):
        keys.append((f"sources.{i}.path", s, "path", "data"))
    for i, b in enumerate(recipe.decontam.benchmarks):
        keys.append((f"decontam.benchmarks.{i}.path", b, "path", "data"))
    backends = [(f"sampling.teachers.{i}.backend", t.backend) for i, t in enumerate(recipe.sampling.teachers)]
    backends.append(("difficulty.scorer", recipe.difficulty.scorer))
    backends += [(f"curators.judges.{i}.backend", j.backend) for i, j in enumerate(recipe.curators.judges)]
    for prefix, spec in backends:
        keys.append((f"{prefix}.model", spec, "model", "model"))
        keys.append((f"{prefix}.path", spec, "path", "file"))
        keys.append((f"{prefix}.chat_template", spec, "chat_template", "file"))
    keys.append(("difficulty.prompt_file", recipe.difficulty, "prompt_file", "prompt"))
    keys.append(("sampling.system_prompt_file", recipe.sampling, "system_prompt_file", "prompt"))
    for i, j in enumerate(recipe.curators.judges):
        keys.append((f"curators.judges.{i}.prompt_file", j, "prompt_file", "prompt"))
        keys.append((f"curators.judges.{i}.scores_file", j, "scores_file", "file"))
    keys.append(("run.tokenizer", recipe.run, "tokenizer", "model"))
    return keys


def resolve_path(path: str | None, base: str, kind: PathKind = "file") -> str | None:
    """``path`` made absolute: against ``base`` (the recipe's directory, or the current
    directory for a command-line override); else data shipped in the ``data_recipes`` package
    (``pkg:NAME`` names it outright) or, for a ``.txt`` or prompt key, a prompt shipped in
    redstar/prompts/. A ``data`` key that looks like a hub id (``owner/name``) and a ``model``
    key (hub id, ``default``) that are not local paths stay as written. Absolute paths, None and
    "" are returned as they are, so resolving twice changes nothing."""
    if not path:
        return path
    from redstar.dataio import looks_like_hub_id
    from redstar.prompts import PROMPT_DIR, find_prompt

    def shipped_prompt(name: str) -> Path | None:
        found = find_prompt(name)
        return found if found is not None and found.resolve().parent == PROMPT_DIR.resolve() else None

    if path.startswith("pkg:"):
        shipped = Path(__file__).parent / path[4:]
        found = None if shipped.exists() else shipped_prompt(path)
        return os.path.abspath(found or shipped)
    p = Path(path).expanduser()
    if p.is_absolute():
        return str(p)
    local = Path(base) / p
    if local.exists():
        return os.path.abspath(local)
    if kind == "model":
        return path  # a hub id or a built-in name
    package = Path(__file__).parent / p
    if package.exists():
        return os.path.abspath(package)  # data shipped in the package
    if kind == "prompt" or p.suffix == ".txt":
        found = shipped_prompt(path)
        if found is not None:
            return os.path.abspath(found)
    if kind == "data" and looks_like_hub_id(path):
        return path
    return os.path.abspath(local)  # missing: the stage that reads it names the full path


def _read_prompt(path: str, key: str, source: str) -> str:
    if not Path(path).is_file():
        from redstar.prompts import prompt_names

        raise ConfigError(
            f"{source}: {key}: {path}: no such file (a recipe's relative paths are relative to "
            "its directory, a command-line override's to the current directory; shipped "
            f"prompts: {', '.join(prompt_names())})"
        )
    return Path(path).read_text(encoding="utf-8")


def resolve_recipe(
    recipe: Recipe, source: str = "recipe", overridden: list[str] | tuple[str, ...] = (), cwd: str | None = None
) -> Recipe:
    """Resolve every path key of ``recipe`` in place (``path_keys``, ``resolve_path``) and read
    the prompt texts the stages use into ``sampling.system_prompt``, ``difficulty.prompt`` and
    ``curators.judges.N.prompt``. A relative path is relative to ``recipe.base_dir`` (the
    recipe file's directory); one set by a command-line override (its key, or a key above it,
    in ``overridden``) is relative to ``cwd`` (default: the current directory). A prompt file
    that a stage will read and that does not exist is a ``ConfigError`` naming ``source`` and
    the key. Returns ``recipe``."""
    cwd = os.path.abspath(cwd or os.getcwd())
    on_cli = lambda key: any(key == k or key.startswith(k + ".") for k in overridden)  # noqa: E731
    for key, obj, attr, kind in path_keys(recipe):
        base = cwd if on_cli(key) or not recipe.base_dir else recipe.base_dir
        setattr(obj, attr, resolve_path(getattr(obj, attr), base, kind))

    def where(key: str) -> str:
        return f"{source} + command line" if on_cli(key) else source

    s = recipe.sampling
    if s.system_prompt_file:
        key = "sampling.system_prompt_file"
        s.system_prompt = _read_prompt(s.system_prompt_file, key, where(key)).strip()
    d = recipe.difficulty
    if d.method == "model":
        d.prompt = _read_prompt(d.prompt_file, "difficulty.prompt_file", where("difficulty.prompt_file"))
    if recipe.curators.enabled:
        for i, j in enumerate(recipe.curators.judges):
            if j.kind == "llm":
                key = f"curators.judges.{i}.prompt_file"
                j.prompt = _read_prompt(j.prompt_file, key, where(key))
    return recipe


def load_recipe(path: str, overrides: list[str] | None = None) -> Recipe:
    """Load the recipe at ``path`` with ``key=value`` overrides, check it, and resolve its
    paths and prompts once (``resolve_recipe``): the stages read absolute paths and prompt texts."""
    recipe = load_config(Recipe, path, overrides)
    recipe.base_dir = str(Path(path).resolve().parent)
    for s in recipe.sampling.n_by_level or {}:
        try:
            float(s)
        except ValueError:
            raise ConfigError(f"{path}: sampling.n_by_level key {s!r} is not a level number") from None
    names = [t.name for t in recipe.sampling.teachers]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: teacher names must be unique, got {names}")
    if recipe.crosscheck.enabled:
        for key in ("teacher_a", "teacher_b"):
            if getattr(recipe.crosscheck, key) not in names:
                raise ConfigError(
                    f"{path}: crosscheck.{key} = {getattr(recipe.crosscheck, key)!r} "
                    f"is not a teacher (teachers: {names})"
                )
    overridden = [".".join(parse_override(o)[0]) for o in overrides or []]
    return resolve_recipe(recipe, str(path), overridden)

"""The sweep's schema: base models x data sizes x subset kinds x seeds, trained by stage, scored
on the same benchmarks with the same decoding settings.

    cfg = load_config(SweepConfig, "configs/sweep_demo.yaml", ["sizes=[4,8]"])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from redstar.config import ConfigError


@dataclass
class ModelSpec:
    name: str = field(metadata={"help": "short label used in cell ids, tables and plots"})
    path: str = field(metadata={"help": 'HF directory, hub id, or "default" (the embedded model)'})


@dataclass
class StageSpec:
    config: str = field(metadata={"help": "the base config of `redstar sft` / `redstar dpo`"})
    overrides: list[str] = field(default_factory=list, metadata={"help": "key=value applied to every cell"})


@dataclass
class BenchmarkSpec:
    name: str = field(
        metadata={"help": "the label in tables and plots; also the `redstar eval --benchmark` unless format is set"}
    )
    data: str = field(metadata={"help": "its file / directory / hub id"})
    format: str = field(
        default="",
        metadata={
            "help": 'the `redstar eval --benchmark` that reads data (math500, math-hard, ...); "": the name (two sets of one format need distinct names)'
        },
    )
    args: list[str] = field(
        default_factory=list, metadata={"help": "extra eval flags for this benchmark only (--subset skill)"}
    )


@dataclass
class EvalSpec:
    benchmarks: list[BenchmarkSpec] = field(
        default_factory=list, metadata={"help": "the benchmarks every checkpoint is scored on"}
    )
    # decoding and scoring settings, the same for every checkpoint (size 0 included)
    max_new_tokens: int = field(default=32768, metadata={"help": "tokens per response"})
    samples: int = field(default=1, metadata={"help": "responses per item"})
    temperature: float | None = field(default=None, metadata={"help": "None: eval's default (greedy for one sample)"})
    top_p: float | None = field(default=None, metadata={"help": "nucleus sampling (null: eval's default)"})
    seed: int = field(default=0, metadata={"help": "sampling seed"})
    batch_size: int = field(default=8, metadata={"help": "prompts per generation batch"})
    backend: str = field(default="", metadata={"help": '"": eval\'s default (vllm with a GPU, else hf)'})
    system: str = field(default="", metadata={"help": 'eval --system ("" = none)'})
    limit: int = field(default=0, metadata={"help": "first N items only (0: all)"})
    args: list[str] = field(default_factory=list, metadata={"help": "further eval flags for every benchmark"})
    include_base: bool = field(default=True, metadata={"help": "score each base model too, as size 0"})
    bootstrap: int = field(default=1000, metadata={"help": "resamples for the 95% interval"})
    metric: Literal["accuracy"] = field(default="accuracy", metadata={"help": "the number tables and plots report"})


@dataclass
class SlurmSpec:
    train_sbatch: list[str] = field(
        default_factory=lambda: ["--nodes=1", "--gpus-per-node=8", "--time=48:00:00"],
        metadata={"help": "sbatch options of each training task"},
    )
    eval_sbatch: list[str] = field(
        default_factory=lambda: ["--nodes=1", "--gpus-per-node=8", "--time=12:00:00"],
        metadata={"help": "sbatch options of each evaluation task"},
    )
    setup: list[str] = field(
        default_factory=list, metadata={"help": "shell lines run first in every task (module load, venv)"}
    )


@dataclass
class SweepConfig:
    name: str = field(default="sweep", metadata={"help": "sweep name (reports)"})
    # A curation output directory (sft.jsonl, preferences.jsonl, samples.jsonl, subsets/), or one
    # SFT / preference file (JSONL, JSON or Parquet). Subsets are drawn from its rows.
    source: str = field(
        default="",
        metadata={"help": "a curation output directory, or one SFT / preference file; subsets are drawn from its rows"},
    )
    # DPO stage data when stages include dpo after sft: a preference file, or "" to take
    # preferences.jsonl from a curation-output source.
    preferences: str = field(
        default="",
        metadata={
            "help": 'DPO data when stages include dpo: a preference file, or "" for a curation output\'s preferences.jsonl'
        },
    )
    preference_rows: int = field(
        default=0, metadata={"help": "0: all preference rows; else a seeded random subset of this size"}
    )
    models: list[ModelSpec] = field(default_factory=list, metadata={"help": "the base models"})
    sizes: list[int] = field(default_factory=list, metadata={"help": "rows per subset; subsets are nested"})
    # random | hardest | any subset `redstar curate` wrote (subsets/<name>.jsonl); every kind
    # other than random gets the random subset of the same size and seed as its control
    subsets: list[str] = field(
        default_factory=lambda: ["random"],
        metadata={
            "help": "random, hardest, or a subset redstar curate wrote; every kind but random gets a random control of the same size"
        },
    )
    seeds: list[int] = field(default_factory=lambda: [0], metadata={"help": "subset seeds (one cell per seed)"})
    stages: list[Literal["sft", "dpo"]] = field(
        default_factory=lambda: ["sft"], metadata={"help": "training stages of every cell, in order"}
    )
    sft: StageSpec | None = field(default=None, metadata={"help": "the SFT stage's base config and overrides"})
    dpo: StageSpec | None = field(default=None, metadata={"help": "the DPO stage's base config and overrides"})
    eval: EvalSpec = field(
        default_factory=EvalSpec, metadata={"help": "benchmarks and decoding, the same for every checkpoint"}
    )
    tokenizer: str = field(default="", metadata={"help": 'counts manifest tokens; "" = ~4 characters per token'})
    threads: int = field(
        default=0,
        metadata={
            "help": "CPU threads of each training and eval command (OMP_NUM_THREADS; 0: the environment's). 1 is fastest for tiny models on a shared machine"
        },
    )
    jobs: int = field(
        default=1,
        metadata={
            "help": "cells (then eval runs) run at once on this machine; with threads: 1, set it to the cores. Results do not depend on it"
        },
    )
    slurm: SlurmSpec = field(default_factory=SlurmSpec, metadata={"help": "sbatch options of the train and eval tasks"})


def check(cfg: SweepConfig, where: str) -> None:
    """Errors a config can have that its types cannot say; each names the key."""
    if not cfg.source:
        raise ConfigError(f"{where}: 'source' is required (a curation output directory or an SFT / preference file)")
    if not cfg.models:
        raise ConfigError(f"{where}: 'models' needs at least one base model")
    names = [m.name for m in cfg.models]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: 'models' names must be unique, got {names}")
    for m in names:
        if not m or any(c in m for c in "/ _"):
            raise ConfigError(f"{where}: model name {m!r} must be non-empty without '/', '_' or spaces")
    if not cfg.sizes or any(s <= 0 for s in cfg.sizes):
        raise ConfigError(f"{where}: 'sizes' must be positive row counts, got {cfg.sizes}")
    if len(set(cfg.sizes)) != len(cfg.sizes):
        raise ConfigError(f"{where}: 'sizes' has a repeated value: {cfg.sizes}")
    if not cfg.subsets or len(set(cfg.subsets)) != len(cfg.subsets):
        raise ConfigError(f"{where}: 'subsets' must list distinct kinds, got {cfg.subsets}")
    for k in cfg.subsets:
        if not k or any(c in k for c in "/ "):
            raise ConfigError(f"{where}: subset kind {k!r} must be non-empty without '/' or spaces")
    if not cfg.stages or len(set(cfg.stages)) != len(cfg.stages) or (cfg.stages == ["dpo", "sft"]):
        raise ConfigError(f"{where}: 'stages' must be [sft], [dpo] or [sft, dpo], got {cfg.stages}")
    for st in cfg.stages:
        if getattr(cfg, st) is None:
            raise ConfigError(f"{where}: stage '{st}' is listed but '{st}.config' is not set")
    if not cfg.eval.benchmarks:
        raise ConfigError(f"{where}: 'eval.benchmarks' needs at least one benchmark")
    labels = [b.name for b in cfg.eval.benchmarks]
    if len(set(labels)) != len(labels):
        raise ConfigError(
            f"{where}: 'eval.benchmarks' names must be unique (set 'format' for two sets of one format), got {labels}"
        )
    if cfg.threads < 0:
        raise ConfigError(f"{where}: 'threads' must be >= 0, got {cfg.threads}")
    if cfg.jobs < 1:
        raise ConfigError(f"{where}: 'jobs' must be >= 1 (cells run at once), got {cfg.jobs}")
    if cfg.eval.bootstrap < 100:
        raise ConfigError(f"{where}: 'eval.bootstrap' must be >= 100 resamples, got {cfg.eval.bootstrap}")

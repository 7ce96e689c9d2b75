"""redstar sft: supervised fine-tuning on SFT rows (chat ``messages``; loss on assistant turns).

    redstar sft CONFIG.yaml [key=value ...]

Samples are packed into ``data.pack_len``-token micro-batches with per-sample positions and
attention; the loss is normalised by target tokens across accumulation and ranks. A config
with ``stages`` runs them in order (AceMath: general, then math from the general model).
The run resumes from ``<out>/checkpoints`` when one exists; the result is ``<out>/final``
(Hugging Face format, tokenizer, chat template, redstar_config.yaml, README.md model card),
plus metrics.jsonl, tensorboard/ and loss.png. Multi-GPU / multi-node: launch/ wraps the same
command for torchrun, deepspeed and SLURM.

examples:
  redstar sft configs/sft_tiny_cpu.yaml out=runs/sft_tiny
  redstar sft configs/sft_redstar_longcot.yaml data.train=[data/sft.jsonl] train.lr=5e-6
  torchrun --nproc_per_node=8 -m redstar.cli sft configs/sft_acemath_two_stage.yaml \\
      train.strategy=deepspeed train.zero_stage=3

Text SFT recipe: chat rows -> tokenised, packed micro-batches -> the engine -> an HF model.

Reads top to bottom: config, seed, data, tokenizer, model, trainer, train, save. A config
either names one ``data`` block or a list of ``stages`` (AceMath: general SFT, then math SFT
starting from the first stage's output); each stage may override training settings (its own
lr, epochs). Every stage writes ``<out>/<stage>/final`` with the resolved config and a model
card, and the next stage loads that directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from redstar.config import ConfigError, RowFilesConfig, from_dict, to_dict
from redstar.release.push import PushConfig
from redstar.train import recipe
from redstar.train.engine import TrainConfig
from redstar.train.recipe import system_prompt
from redstar.train.token_cache import cache_dir_field, num_proc_field


@dataclass
class DataConfig(RowFilesConfig):
    max_len: int = field(
        default=16384, metadata={"help": "tokens per sample; longer rows are dropped (or cut, see overflow)"}
    )
    pack_len: int = field(default=0, metadata={"help": "tokens per packed micro-batch (0: max_len)"})
    train_on: Literal["last", "all"] = field(default="last", metadata={"help": "which assistant turns carry the loss"})
    overflow: Literal["drop", "truncate"] = field(
        default="drop", metadata={"help": "a sample longer than max_len: drop it, or truncate it"}
    )
    system_prompt_file: str = recipe.system_prompt_file_field()
    cache_dir: str = cache_dir_field()
    num_proc: int = num_proc_field()


@dataclass
class StageConfig:
    name: str = field(metadata={"help": "stage name (also its output folder under out)"})
    data: DataConfig = field(metadata={"help": "the stage's data settings"})
    train: dict[str, Any] = field(default_factory=dict, metadata={"help": "TrainConfig keys overriding the top level"})


@dataclass
class SFTConfig:
    model: str = field(default="default", metadata={"help": 'HF directory, hub id, or "default"'})
    out: str = recipe.out_field("runs/sft")
    modality: Literal["text", "vision"] = field(
        default="text", metadata={"help": "text, or vision to run the image+text recipe (geo.sft)"}
    )
    attn_implementation: recipe.AttentionKind = recipe.attention_field()
    loss_impl: recipe.LossImpl = recipe.loss_impl_field()
    data: DataConfig | None = field(default=None, metadata={"help": "the data of a single-stage run (or use stages)"})
    stages: list[StageConfig] = field(
        default_factory=list,
        metadata={"help": "several stages run in order, each starting from the previous one's model (instead of data)"},
    )
    train: TrainConfig = recipe.train_field()
    push: PushConfig = recipe.push_field()


def resolve_stages(cfg: SFTConfig) -> list[StageConfig]:
    if cfg.modality != "vision" and bool(cfg.data) == bool(cfg.stages):
        raise ConfigError("SFT config: give either 'data' (one stage) or 'stages' (several), not both or neither")
    stages = cfg.stages or [StageConfig(name="sft", data=cfg.data)]
    names = [s.name for s in stages]
    if len(set(names)) != len(names):
        raise ConfigError(f"SFT config: stage names must be unique, got {names}")
    for s in stages:
        if not s.data.train:
            raise ConfigError(f"SFT config: stage '{s.name}' has no data.train files")
    return stages


def stage_train_config(cfg: SFTConfig, stage: StageConfig) -> TrainConfig:
    merged = {**to_dict(cfg.train), **stage.train}
    return from_dict(TrainConfig, merged, source=f"stage '{stage.name}' train")


def read_sft_rows(data: DataConfig) -> tuple[list, int, list[str]]:
    """All rows of the stage's files, validated as SFT rows (errors name file:line), the
    count of skipped bad rows, and each kept row's source ('file:row N', N counting the rows
    read from that file) for errors found later, when the row is tokenised."""
    rows, read_stats, wheres = read_sft_rows_counted(data)
    return rows, read_stats.skipped, wheres


def read_sft_rows_counted(data: DataConfig):
    """``read_sft_rows`` with the reader's ``ReadStats`` (rows read, skipped, first locations)."""
    from redstar.dataio import ReadStats, read_located
    from redstar.records import SFTRow

    read_stats = ReadStats()
    rows, wheres = read_located(
        data.train, schema=SFTRow, skip_bad=data.skip_bad, stats=read_stats, max_rows=data.max_rows
    )
    if not rows:
        first = f"; first skipped: {read_stats.skipped_where[0]}" if read_stats.skipped_where else ""
        raise ConfigError(f"no SFT rows in {data.train} ({read_stats.skipped} malformed rows skipped{first})")
    return rows, read_stats, wheres


def tokenize_examples(
    rows: list, bad_rows: int, data: DataConfig, tok, is_main: bool = True, wheres: list[str] | None = None
) -> tuple[list[dict], dict]:
    from redstar.train.tokenize import tokenize_rows

    examples, stats = tokenize_rows(
        rows,
        tok,
        data.max_len,
        data.train_on,
        system_prompt(data),
        data.overflow,
        progress=is_main,
        wheres=wheres,
        skip_bad=data.skip_bad,
    )
    stats["bad_rows"] += bad_rows
    if not examples:
        raise ConfigError(f"{data.train}: every row was dropped ({stats}); raise data.max_len?")
    return examples, stats


def model_card(base: str, stage: StageConfig, tcfg: TrainConfig, stats: dict, state: dict, attn: str) -> str:
    from redstar.models import DEFAULT_MODEL, DEFAULT_MODEL_NAME

    base = DEFAULT_MODEL_NAME if base == DEFAULT_MODEL else base  # the card names the real model
    first_bad = f", first at {stats['first_bad'][0]}" if stats.get("first_bad") else ""
    data = "\n".join(f"- `{d}`" for d in stage.data.train)
    from redstar.release.model_card import render_model_card

    return render_model_card(
        {"base_model": base, "tags": ["sft", "long-cot", "math"]},
        f"""# redstar SFT: stage `{stage.name}`

Fine-tuned from `{base}` with `redstar sft` (assistant-only loss on the {stage.data.train_on} assistant turn(s),
samples packed {stage.data.pack_len or stage.data.max_len} tokens per micro-batch with per-sample attention).

## Data
{data}

Rows read: {stats.get("rows_read", stats["rows"])}; used: {stats.get("used", stats["rows"] - stats["too_long"] - stats["no_targets"])}
(skipped as malformed: {stats["bad_rows"]}{first_bad}; dropped over {stage.data.max_len} tokens: {stats["too_long"]},
without targets: {stats["no_targets"]}).
Tokens: {stats["tokens"]}; target tokens: {stats["targets"]}.

## Settings
lr {tcfg.lr} ({tcfg.schedule}, warmup {tcfg.warmup_ratio}), epochs {tcfg.epochs}, grad_accum {tcfg.grad_accum},
max_grad_norm {tcfg.max_grad_norm}, dtype {tcfg.dtype}, strategy {tcfg.strategy}
(ZeRO {tcfg.zero_stage if tcfg.strategy == "deepspeed" else "-"}), attention {attn}, seed {tcfg.seed}.

## Training
{state["step"]} optimizer steps, {state["tokens"]} tokens, {state["targets"]} target tokens.
The full resolved config is `redstar_config.yaml`.
""",
    )


def check_rows(data: DataConfig) -> None:
    """Read every row (streamed) and raise the first malformed one's ``RowError``."""
    from redstar.dataio import ReadStats
    from redstar.records import SFTRow
    from redstar.train.token_cache import iter_rows

    for _ in iter_rows(data.train, SFTRow, data.skip_bad, ReadStats(), data.max_rows):
        pass


def token_cache(data: DataConfig, tok, dist, budget: int, progress: bool = True):
    """The stage's rows tokenised once (``redstar.train.token_cache``): built on the first run
    by one process per node, memory-mapped by every rank of this and later runs. Raises a
    ``ConfigError`` when no row is left to train on."""
    from redstar.records import SFTRow
    from redstar.train.token_cache import ChatEncoder, open_data_cache

    cache = open_data_cache(
        "sft",
        data,
        tok,
        ChatEncoder("sft", data.max_len, data.train_on, system_prompt(data), data.overflow),
        schema=SFTRow,
        dist=dist,
        budget=budget,
        progress=progress,
    )
    stats = cache.stats
    if not stats["rows"]:
        first = f"; first skipped: {stats['first_bad'][0]}" if stats["first_bad"] else ""
        raise ConfigError(f"no SFT rows in {data.train} ({stats['bad_rows']} malformed rows skipped{first})")
    if not stats["used"]:
        raise ConfigError(f"{data.train}: every row was dropped ({stats}); raise data.max_len?")
    return cache


def load_model(model_path: str, dtype, attn: str | None):
    """The causal LM alone (``models.load_causal_lm`` less the tokenizer, which the stage has
    already loaded: a large vocabulary takes each rank a second or so to load again)."""
    from transformers import AutoModelForCausalLM

    from redstar.models import _dtype, resolve_model_path

    kwargs = {"dtype": _dtype(dtype)}
    if attn:
        kwargs["attn_implementation"] = attn
    return AutoModelForCausalLM.from_pretrained(resolve_model_path(model_path), **kwargs)


def run_stage(cfg: SFTConfig, stage: StageConfig, model_path: str, out_dir: Path) -> dict:
    from redstar.models import load_tokenizer
    from redstar.train.engine import PlanLoader, Trainer
    from redstar.train.loss import causal_lm_loss
    from redstar.train.packing import collate_packed
    from redstar.train.recipe import load_for_training, seed_and_devices

    tcfg = stage_train_config(cfg, stage)
    dist = seed_and_devices(tcfg)  # seed first: data order, model init of new heads and dropout follow from it

    try:
        tok = load_tokenizer(model_path)
    except Exception:
        check_rows(stage.data)  # a run with a bad row and a bad model names the row first, as before
        raise
    if tok.chat_template is None:
        raise ConfigError(f"{model_path}: the tokenizer has no chat template; SFT rows need one")
    budget = stage.data.pack_len or stage.data.max_len
    # data errors surface before any model loads; every row is accounted for:
    # read = used + skipped (malformed) + dropped (too long, no targets)
    examples = token_cache(stage.data, tok, dist, budget, dist.is_main and tcfg.progress)
    stats = examples.stats
    longest = int(examples.meta["longest_example"])
    if longest > budget:
        raise ConfigError(
            f"data.pack_len {budget} is shorter than the longest kept sample ({longest}); pack_len must be >= max_len"
        )

    attn, (model, _) = load_for_training(
        lambda attn, dtype: (load_model(model_path, dtype, attn), tok),
        tcfg,
        dist,
        cfg.attn_implementation,
    )

    def plan(epoch: int):
        return examples.pack_plan(budget, seed=tcfg.seed + epoch)

    loader = PlanLoader(
        examples, plan, lambda items: collate_packed(items, pad_token_id=tok.pad_token_id or 0, pack_len=budget)
    )
    resolved = replace(
        cfg, model=model_path, stages=[stage] if cfg.stages else [], train=tcfg, data=None if cfg.stages else stage.data
    )
    loss_fn = lambda m, b: causal_lm_loss(m, b, impl=cfg.loss_impl)  # noqa: E731
    from redstar.train.checkpoint import data_key

    trainer = Trainer(
        model,
        loss_fn,
        loader,
        tcfg,
        out_dir,
        tokenizer=tok,
        run_config=resolved,
        dist=dist,
        data_key=data_key(
            stage.data.train,
            max_len=stage.data.max_len,
            pack_len=budget,
            max_rows=stage.data.max_rows,
            train_on=stage.data.train_on,
        ),
        model_card=lambda state: model_card(model_path, stage, tcfg, stats, state, attn),
    )
    if dist.is_main:
        from redstar.train.checkpoint import trim_metrics

        trim_metrics(out_dir, tcfg.resume)  # steps redone after a kill are logged once
        from redstar.dataio import write_json

        write_json(out_dir / "data_stats.json", {**stats, "token_cache": str(examples.path)})
        from redstar.rundir import add_to_record

        add_to_record(Path(cfg.out), "token_caches", stage.name, str(examples.path))
        if stats["bad_rows"] or stats["too_long"] or stats["no_targets"]:
            first = f" (first: {stats['first_bad'][0]})" if stats["first_bad"] else ""
            print(
                f"[{stage.name}] rows read {stats['rows_read']}, used {stats['used']}: skipped as malformed "
                f"{stats['bad_rows']}{first}, over {stage.data.max_len} tokens {stats['too_long']}, "
                f"without targets {stats['no_targets']}"
            )
        print(
            f"[{stage.name}] {stats['rows']} rows -> {len(examples)} samples, {stats['tokens']} tokens in "
            f"{len(plan(0))} packs of {budget}; {trainer.total_steps} steps on {dist.world_size} rank(s), attention {attn}"
        )
    summary = trainer.train()
    summary["data"] = stats
    return summary


def run(cfg: SFTConfig) -> list[dict]:
    """Run every stage in order; each starts from the previous stage's final model."""
    if cfg.modality == "vision":
        raise ConfigError(
            "modality: vision configs are trained by the vision-language recipe (geo), "
            "which 'redstar sft' runs for a config whose first line is '# schema: geo.sft:VLSFTConfig'"
        )
    stages = resolve_stages(cfg)
    model_path, summaries = cfg.model, []
    for stage in stages:
        out_dir = Path(cfg.out) / stage.name if len(stages) > 1 else Path(cfg.out)
        done = out_dir / "final" / "config.json"
        if done.is_file() and cfg.train.resume:
            # a finished stage is never retrained: the final model is written (atomically) after
            # its last step, and the run directory's record guarantees it is from these inputs
            print(f"[{stage.name}] already finished: {done.parent}")
            summaries.append({"stage": stage.name, "final_dir": str(done.parent), "skipped": True})
        else:
            summaries.append({"stage": stage.name, **run_stage(cfg, stage, model_path, out_dir)})
        model_path = str(out_dir / "final")
    return summaries


# the command: `redstar sft CONFIG.yaml`; its arguments stand in RECIPES (redstar/cli.py)


def main(args) -> int:
    from redstar.config import config_from_args, to_dict
    from redstar.rundir import local_model, open_config_run
    from redstar.train.distributed import decided_by_rank0
    from redstar.train.engine import check_train_settings

    cfg = config_from_args(SFTConfig, args)
    if cfg is None:
        return 0
    stages = resolve_stages(cfg)  # config errors before any model is loaded
    check_train_settings(cfg.train)
    run_dir = open_config_run(
        "sft",
        to_dict(cfg),
        inputs=[f for s in stages for f in s.data.train] + local_model(cfg.model),
        overwrite=getattr(args, "overwrite", False),
        decide_on_rank0=lambda decide: decided_by_rank0(decide, cfg.train.device),
    )
    if run_dir.complete:
        print(run_dir.complete_message())
        return 0
    summaries = run(cfg)
    for s in summaries:
        if s.get("final_dir"):
            print(
                f"[{s['stage']}] final model: {s['final_dir']}"
                + (f" (loss {s['final_loss']:.4f}, {s['step']} steps)" if "final_loss" in s else "")
            )
    run_dir.finish(
        {
            "stages": [
                {k: s.get(k) for k in ("stage", "final_dir", "step", "final_loss", "tokens", "loop_seconds")}
                for s in summaries
            ]
        }
    )
    finals = [s["final_dir"] for s in summaries if s.get("final_dir")]
    if finals:  # push.repo set: publish the last stage's model (rank 0 only has final_dir)
        from redstar.release.push import push_after_training

        push_after_training(finals[-1], cfg.push)
    return 0

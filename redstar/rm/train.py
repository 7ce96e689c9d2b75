"""``redstar rm train CONFIG.yaml [key=value ...]``: train an outcome reward model.

Reads top to bottom: config, seed, data (verified samples -> balanced groups, a held-out split
by problem), model (the causal LM with a new scalar head), loss, the training engine
(redstar.train: step-level normalisation, checkpoints, resume, DeepSpeed), held-out evaluation
before and after (pairwise accuracy, best-of-group accuracy), save (a Hugging Face directory
with the resolved config, a model card and ``reward_model.json``).

The loss is written once in ``redstar.rm.losses`` and follows the engine's contract: each
micro-batch returns ``(loss_sum, count, metrics)``, and the collator's ``num_targets`` (groups
for listwise BT, pairs for pairwise BT, responses for BCE / MSE) normalises the whole step, so
the gradient does not depend on how a step's groups are split. AceMath-RM defaults (arXiv 2412.15084):
6 responses per problem, listwise Bradley-Terry, 2 epochs, lr 5e-6 (7B), cosine, batch 256
problems (here ``data.groups_per_micro * train.grad_accum * ranks``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch

from redstar.config import DataConfigBase
from redstar.release.push import PushConfig
from redstar.rm.data import (
    Group,
    GroupCollator,
    GroupStats,
    PairEncoder,
    is_held_out,
    open_rm_cache,
)
from redstar.rm.losses import get_loss, ranking_metrics
from redstar.train.engine import TrainConfig, batch_to_device
from redstar.train.recipe import push_field
from redstar.train.token_cache import cache_dir_field, num_proc_field


@dataclass
class RMDataConfig(DataConfigBase):
    samples: list[str] = field(
        default_factory=list, metadata={"help": "Sample rows with verdicts: files, dirs or hub ids"}
    )
    problems: str | None = field(
        default=None, metadata={"help": "Problem rows giving each sample's question (else a 'question' field)"}
    )
    n: int = field(default=6, metadata={"help": "responses per problem, balanced between correct and wrong"})
    sort_by: str | None = field(
        default=None, metadata={"help": "a scores[...] key: draw from top positives / bottom negatives by it"}
    )
    sort_pool: int = field(default=14, metadata={"help": "size of those pools (0: exactly the top-k / bottom-k)"})
    eval_fraction: float = field(
        default=0.05, metadata={"help": "share of problems held out (chosen by a hash of the problem id)"}
    )
    max_len: int = field(default=4096, metadata={"help": "tokens per (question, response) pair"})
    groups_per_micro: int = field(
        default=1, metadata={"help": "problems per forward pass (all n responses of each together)"}
    )
    cache_dir: str = cache_dir_field()
    num_proc: int = num_proc_field()

    def __post_init__(self):
        from redstar.config import ConfigError

        if self.n < 2 or not 0 <= self.eval_fraction < 1:
            raise ConfigError(
                f"data: n must be >= 2 (a correct and a wrong response) and eval_fraction "
                f"in [0, 1) (got n={self.n}, eval_fraction={self.eval_fraction})"
            )


def _acemath_train() -> TrainConfig:
    return TrainConfig(lr=5e-6, epochs=2, grad_accum=256, schedule="cosine", gradient_checkpointing=True)


@dataclass
class RMTrainConfig:
    model: str = field(
        default="default", metadata={"help": "causal LM to start from: 'default', a directory or a hub id"}
    )
    out: str = field(
        default="runs/rm", metadata={"help": "run directory: checkpoints, metrics.jsonl, rm_eval.json, final/"}
    )
    head: Literal["auto", "seqcls", "wrapper"] = field(
        default="auto",
        metadata={
            "help": "scalar head: seqcls (AutoModelForSequenceClassification), wrapper (a linear head on the causal LM), auto picks"
        },
    )
    loss: Literal["listwise_bt", "pairwise_bt", "bce", "mse"] = field(
        default="listwise_bt", metadata={"help": "ranking loss over each problem's responses"}
    )
    data: RMDataConfig = field(
        default_factory=RMDataConfig, metadata={"help": "verified samples and how they are grouped"}
    )
    train: TrainConfig = field(
        default_factory=_acemath_train,
        metadata={"help": "optimisation and infrastructure (defaults: AceMath-RM's lr 5e-6, 2 epochs, cosine)"},
    )
    push: PushConfig = push_field()


# ----------------------------------------------------------------------------- loss and eval


def make_loss_fn(name: str):
    """``loss_fn(model, batch) -> (loss_sum, count, metrics)`` for a GroupCollator batch."""
    loss = get_loss(name)

    def loss_fn(model, batch):
        batch = batch_to_device(batch, next(model.parameters()).device)
        rewards = model(batch["input_ids"], batch["attention_mask"])  # (R,)
        slots = batch["slots"]  # (G, n)
        valid = slots >= 0
        scores = rewards[slots.clamp(min=0)]  # (G, n)
        labels = batch["labels"]
        loss_sum, count = loss(scores, labels, valid)
        return loss_sum, count, ranking_metrics(scores.detach(), labels, valid)

    return loss_fn


@torch.no_grad()
def evaluate(model, groups: list[Group], collator, micro: int = 4, loss: str = "listwise_bt") -> dict:
    """Held-out loss, pairwise accuracy, and best-of-group accuracy (is the top-scored
    response correct) next to its random baseline (the mean share of correct responses)."""
    if not groups:
        return {}
    was = model.training
    model.eval()
    loss_f = get_loss(loss)
    device = next(model.parameters()).device
    loss_sum, count, wins, pairs, top1 = 0.0, 0, 0.0, 0, 0
    for start in range(0, len(groups), micro):
        batch = collator([groups[i] for i in range(start, min(start + micro, len(groups)))])
        on_device = batch_to_device(batch, device)
        rewards = model(on_device["input_ids"], on_device["attention_mask"]).cpu()  # (R,)
        valid = batch["slots"] >= 0  # (G, n)
        scores = rewards[batch["slots"].clamp(min=0)]  # (G, n)
        ls, c = loss_f(scores, batch["labels"], valid)
        m = ranking_metrics(scores, batch["labels"], valid)
        loss_sum, count = loss_sum + float(ls), count + c
        wins, pairs = wins + m["pair_acc"] * m["pairs"], pairs + m["pairs"]
        best = scores.masked_fill(~valid, -math.inf).argmax(1, keepdim=True)  # (G, 1)
        top1 += int(batch["labels"].gather(1, best).sum())
    model.train(was)
    return {
        "loss": loss_sum / max(count, 1),
        "pair_acc": wins / max(pairs, 1),
        "top1_acc": top1 / len(groups),
        "top1_random": sum(sum(g.labels) / len(g.labels) for g in groups) / len(groups),
    }


def split_groups(groups: list[Group], eval_fraction: float) -> tuple[list[Group], list[Group]]:
    """Held-out problems chosen by a hash of the id: the same split whatever the row order."""
    is_held = [is_held_out(g.problem_id, eval_fraction) for g in groups]
    return [g for g, h in zip(groups, is_held) if not h], [g for g, h in zip(groups, is_held) if h]


# ----------------------------------------------------------------------------- the recipe


def model_card(cfg: RMTrainConfig, stats: GroupStats, before: dict, after: dict, state: dict) -> str:
    t = cfg.train

    def fmt(d, k):
        return f"{d[k]:.3f}" if k in d else "-"

    from redstar.release.model_card import render_model_card

    return render_model_card(
        {"base_model": cfg.model, "tags": ["reward-model", "outcome-reward", "math"]},
        f"""# redstar outcome reward model

A scalar head on the last token of `{cfg.model}`, trained with `redstar rm train` ({cfg.loss} loss,
{cfg.data.n} responses per problem, balanced between verified-correct and wrong).
Load with `redstar.rm.model.RewardModel.from_pretrained` or, for `sequence_classification`
format (see `reward_model.json`), `AutoModelForSequenceClassification`; the reward is read at the
last non-padding token, with right padding.

## Data
{stats.summary()}.

## Held-out problems
pairwise accuracy {fmt(before, "pair_acc")} -> {fmt(after, "pair_acc")}; best-of-group accuracy
{fmt(before, "top1_acc")} -> {fmt(after, "top1_acc")} (random pick {fmt(after, "top1_random")}).

## Settings
lr {t.lr} ({t.schedule}, warmup {t.warmup_ratio}), epochs {t.epochs}, {cfg.data.groups_per_micro} problems per
micro-batch x grad_accum {t.grad_accum}, dtype {t.dtype}, strategy {t.strategy}, seed {t.seed};
{state["step"]} optimizer steps. The resolved config is `redstar_config.yaml`.
""",
    )


def train(cfg: RMTrainConfig, model=None, tokenizer=None) -> dict:
    """Train per ``cfg``; ``model``/``tokenizer`` (an in-memory causal LM) override cfg.model."""

    from redstar.config import ConfigError
    from redstar.dataio import write_json
    from redstar.models import resolve_model_path
    from redstar.rm.model import RewardModel, load_saved_tokenizer
    from redstar.train.engine import PlanLoader, Trainer
    from redstar.train.packing import fixed_batches
    from redstar.train.recipe import load_for_training, seed_and_devices

    tcfg = cfg.train
    # seed first: group picks, the new head's init and the data order all follow from it
    dist = seed_and_devices(tcfg)

    # data: verified samples -> one balanced group per problem, held-out problems for eval,
    # tokenised once into the token cache (one build per node; every rank maps it), before any
    # model loads, so data errors surface first
    if not cfg.data.samples:
        raise ConfigError("data.samples is empty: list the verified Sample files (curation output)")
    if model is None:
        tokenizer = tokenizer or load_saved_tokenizer(resolve_model_path(str(cfg.model)))
    elif tokenizer is None:
        raise ConfigError("an in-memory model needs its tokenizer")
    data = open_rm_cache(cfg.data, tokenizer, seed=tcfg.seed, dist=dist, progress=dist.is_main and tcfg.progress)
    stats, counts = data.stats, data.accounting
    if dist.is_main:
        from redstar.rundir import add_to_record

        add_to_record(cfg.out, "token_caches", "rm", str(data.path))  # run.json names the cache it reads
        print(
            f"rm data: {counts['samples_read']} samples read, {counts['malformed']} malformed; {stats.summary()}; "
            f"{counts['truncated']} pairs over {cfg.data.max_len} tokens cut (token cache {data.path})"
        )
    if not len(data.train) + len(data.held_out):
        raise ConfigError(f"{cfg.data.samples}: no problem has both a correct and a wrong response to train on")
    train_groups, eval_groups = data.train, data.held_out

    # model: the causal LM's backbone + a new scalar head, loaded as the text recipes load:
    # fp32 master weights on the torch backend (the engine autocasts to bf16 when train.dtype
    # says so); the training dtype under DeepSpeed, and under ZeRO-3 partitioned as it loads
    source = model if model is not None else cfg.model
    _, (rm, tok) = load_for_training(
        lambda _attn, dtype: RewardModel.from_causal_lm(source, tokenizer, head=cfg.head, dtype=dtype), tcfg, dist
    )
    collator = GroupCollator(PairEncoder(tok, max_len=cfg.data.max_len), loss=cfg.loss)

    # engine: micro-batches of `groups_per_micro` problems, reshuffled each epoch
    g = cfg.data.groups_per_micro
    loader = PlanLoader(
        train_groups, lambda epoch: fixed_batches(len(train_groups), g, seed=tcfg.seed + epoch), collator
    )
    holder: dict = {}

    def card(state: dict) -> str:
        # called by the engine once training is done, just before the export (on every rank,
        # so a ZeRO-3 forward stays collective): the card reports the held-out scores after
        holder["after"] = evaluate(trainer.backend.module, eval_groups, collator, g, cfg.loss)
        return model_card(cfg, stats, before, holder["after"], state)

    from redstar.train.checkpoint import data_key

    trainer = Trainer(
        rm,
        make_loss_fn(cfg.loss),
        loader,
        tcfg,
        out_dir=cfg.out,
        tokenizer=tok,
        run_config=cfg,
        data_key=data_key(
            list(cfg.data.samples) + ([cfg.data.problems] if cfg.data.problems else []),
            n=cfg.data.n,
            max_len=cfg.data.max_len,
            eval_fraction=cfg.data.eval_fraction,
            groups_per_micro=cfg.data.groups_per_micro,
            sort_by=cfg.data.sort_by,
        ),
        dist=dist,
        model_card=card,
    )
    # held-out scores before training, through the engine's model (placed on the device, and
    # under ZeRO-3 gathered by its hooks; every rank runs it, so the forward stays collective)
    before = evaluate(trainer.backend.module, eval_groups, collator, g, cfg.loss)
    summary = trainer.train()
    after = holder.get("after", {})
    result = {
        **summary,
        "train_groups": len(train_groups),
        "eval_groups": len(eval_groups),
        "data": vars(stats),
        "samples": counts,
        "token_cache": str(data.path),
        "truncated_pairs": counts["truncated"],
        "eval_before": before,
        "eval_after": after,
    }
    if dist.is_main:
        write_json(Path(cfg.out) / "rm_eval.json", result)
        print(
            f"rm train: {summary['step']} steps; held-out pair accuracy "
            f"{before.get('pair_acc', math.nan):.3f} -> {after.get('pair_acc', math.nan):.3f}; "
            f"saved {summary.get('final_dir')}"
        )
    return result

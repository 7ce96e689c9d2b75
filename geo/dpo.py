"""redstar dpo (vision-language recipe): DPO of a vision-language model on image preference rows.

    redstar dpo CONFIG.yaml [key=value ...]

Run for a config whose first line is ``# schema: geo.dpo:VLDPOConfig`` (redstar/cli.py: RECIPES). Rows
are preference rows: ``prompt`` (messages, ``<image>`` markers or images before the first user
turn), ``chosen`` and ``rejected`` (assistant messages) and ``images`` (paths relative to the
data file). Reference log-probabilities come from the starting model (or ``ref_model``),
computed once before training; pairs are packed with per-sample multimodal positions.
``dpo.beta``, ``dpo.label_smoothing`` (cDPO) and ``dpo.sft_weight`` (RPO) set the loss.

examples:
  redstar dpo configs/geo_dpo_tiny.yaml out=runs/geo_dpo_tiny
  redstar dpo configs/geo_dpo_qwen2vl.yaml model=runs/geo_sft/final data.train=[data/geo_pref.jsonl]

Vision-language DPO: image preference rows -> paired, packed micro-batches -> the engine.

Each preference row (``prompt`` messages, ``chosen`` / ``rejected`` assistant turns,
``images``) becomes two samples sharing the row's images. A micro-batch holds whole pairs
(``[c0, r0, c1, r1, ...]``), packed like SFT samples with per-sample multimodal positions so
neither answer sees the other; the sum of each sample's reply log-probabilities is taken per
sample from one forward pass.

Training runs on the text recipe's one DPO path (``redstar.train.dpo.train_dpo``): this
recipe passes its collator (``pair_collate``) and its log-prob function (``sequence_logps``).
So the reference log-probabilities are computed once before training (the engine's model at
step 0, or ``ref_model``) with the packs split over the ranks, no second model sits in memory
during training, and the loss is the text recipe's ``dpo_loss`` (sigmoid with cDPO label
smoothing, or IPO) plus an optional SFT term on the chosen reply (RPO, ``sft_weight``); the
engine normalises by pairs (``num_targets`` = pairs in the batch).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

import torch

from geo.collate import model_inputs, sample_index
from geo.dataset import VLDataConfig
from geo.freeze import FreezeConfig
from redstar.release.push import PushConfig
from redstar.train import recipe
from redstar.train.dpo import DPO_ATTENTION_HELP, DPOLossConfig, make_loss_fn
from redstar.train.engine import TrainConfig
from redstar.train.loss import sample_logps


@dataclass
class VLDPOConfig:
    data: VLDataConfig = field(metadata={"help": "image+text preference rows"})
    model: str = field(
        default="Qwen/Qwen2-VL-2B-Instruct", metadata={"help": "the SFT model to start from (or tiny:qwen2_vl)"}
    )
    ref_model: str = recipe.ref_model_field()
    out: str = recipe.out_field("runs/geo_dpo")
    modality: Literal["vision"] = field(default="vision", metadata={"help": "always vision for this recipe"})
    trust_remote_code: bool = recipe.trust_remote_code_field()
    attn_implementation: recipe.AttentionKind = recipe.attention_field(DPO_ATTENTION_HELP)
    dpo: DPOLossConfig = field(default_factory=DPOLossConfig, metadata={"help": "the DPO loss"})
    freeze: FreezeConfig = field(
        default_factory=FreezeConfig, metadata={"help": "which parts train, and their learning rates"}
    )
    train: TrainConfig = recipe.train_field()
    push: PushConfig = recipe.push_field()


def sequence_logps(model, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """(sum of reply-token log-probabilities [S], reply token counts [S]) per sample of a
    collated batch, from one forward pass and one chunked pass of the head over all targets
    (``redstar.train.loss.sample_logps``: one weight-gradient buffer per batch, and under
    ZeRO-3 the head called as a module, gathered by design)."""
    hidden = model.model(**model_inputs(batch), use_cache=False).last_hidden_state  # [B, T, H]
    labels = batch["labels"]  # [B, T] shifted
    idx = sample_index(batch).to(labels.device)  # [B, T]
    n = int(batch.get("num_samples") or int(idx.max()) + 1)
    return sample_logps(hidden, model.get_output_embeddings(), labels, idx, n)  # [S], [S]


def dpo_loss_fn(cfg: DPOLossConfig):
    """The engine's ``loss_fn``: the text recipe's DPO loss (sigmoid / cDPO / IPO, RPO term) on
    the vision-language per-sample log-probs."""
    return make_loss_fn(cfg, logps_fn=sequence_logps)


def pair_collate(collator):
    """Items are [chosen, rejected] lists; the batch keeps pairs adjacent, carries the
    reference log-probs [2P] and counts pairs as its targets."""

    def collate(items):
        flat = [ex for pair in items for ex in pair]
        batch = collator(flat)
        if all("ref_logps" in ex for ex in flat):
            batch["ref_logps"] = torch.tensor([ex["ref_logps"] for ex in flat], dtype=torch.float32)
        batch["num_targets"] = len(items)
        return batch

    return collate


def run(cfg: VLDPOConfig) -> dict:
    """The vision-language recipe on the one DPO path (``redstar.train.dpo.train_dpo``): it
    passes its collator (pairs of image+text samples with per-sample multimodal positions) and
    its log-prob function; the reference pass, its split over ranks, the loss and the loop are
    the text recipe's."""
    from geo.collate import VLCollator
    from geo.sft import load_vl_model, plan_fn, set_up
    from redstar.train.dpo import train_dpo

    tcfg = cfg.train
    s = set_up(cfg, "preference")

    def describe(trainer) -> str:
        return (
            f"{s.stats['rows']} preference rows -> {len(s.items)} pairs ({s.stats['images']} images); "
            f"beta {cfg.dpo.beta}; {trainer.total_steps} steps, attention {s.attn}"
        )

    summary = train_dpo(
        s.model,
        s.items,
        plan_fn(s.items.lengths(), cfg.data, tcfg.seed),
        pair_collate(VLCollator(s.proc, s.model, pack=cfg.data.pack)),
        cfg.dpo,
        tcfg,
        cfg.out,
        logps_fn=sequence_logps,
        records=s.items.items,
        load_reference=(lambda: load_vl_model(cfg.ref_model, s.attn, cfg.trust_remote_code, dtype=tcfg.dtype)[0])
        if cfg.ref_model
        else None,
        describe=describe,
        **s.trainer_kw(cfg, "dpo"),
    )
    summary["data"] = {k: v for k, v in s.stats.items() if k != "skipped_where"}
    return summary


def preference_rows_from_problems(problems: list[dict], seed: int = 0) -> list[dict]:
    """Generated geometry problems -> preference rows: the reference solution is chosen; the
    same reasoning ending on a wrong choice is rejected (a verifiable negative, as RedStar
    builds DPO pairs from failed samples)."""
    from redstar.choices import LETTERS, format_question

    rng = random.Random(seed)
    rows = []
    for p in problems:
        if not p.get("solution") or not p.get("choices"):
            continue
        gold = p["answer"]
        wrong = rng.choice([c for c in LETTERS[: len(p["choices"])] if c != gold])
        gold_text, wrong_text = p["choices"][LETTERS.index(gold)], p["choices"][LETTERS.index(wrong)]
        rejected = p["solution"].replace(
            f"The answer is {gold_text}, choice \\boxed{{{gold}}}",
            f"The answer is {wrong_text}, choice \\boxed{{{wrong}}}",
        )
        if rejected == p["solution"]:
            rejected = f"The answer is {wrong_text}, choice \\boxed{{{wrong}}}."
        rows.append(
            {
                "prompt": [
                    {
                        "role": "user",
                        "content": "<image>" * len(p["images"]) + "\n" + format_question(p["question"], p["choices"]),
                    }
                ],
                "chosen": [{"role": "assistant", "content": p["solution"]}],
                "rejected": [{"role": "assistant", "content": rejected}],
                "images": list(p["images"]),
            }
        )
    return rows


# the command: `redstar dpo CONFIG.yaml`; its arguments stand in RECIPES (redstar/cli.py)


def main(args) -> int:
    from redstar.config import config_from_args
    from redstar.rundir import local_model, run_training

    cfg = config_from_args(VLDPOConfig, args)
    if cfg is None:
        return 0
    inputs = [*cfg.data.train, *local_model(cfg.model), *local_model(cfg.ref_model)]
    s = run_training("dpo", cfg, run, inputs, getattr(args, "overwrite", False))
    if s is None:
        return 0
    print(f"final model: {s['final_dir']} (loss {s['final_loss']:.4f}, {s['step']} steps, {s['data']['rows']} pairs)")
    return 0

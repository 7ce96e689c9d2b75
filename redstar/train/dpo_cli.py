"""redstar dpo: direct preference optimisation of a text model on preference rows.

    redstar dpo CONFIG.yaml [key=value ...]

Rows are preference rows (``prompt`` messages, ``chosen`` / ``rejected`` assistant turns). The
reference log-probabilities come from the starting model (or ``ref_model``), computed once
before training; pairs are packed with per-sample positions and the loss is normalised by
pairs across accumulation and ranks. ``dpo.beta``, ``dpo.loss_type`` (sigmoid | ipo),
``dpo.label_smoothing`` (cDPO) and ``dpo.sft_weight`` (RPO) set the loss. The result is
``<out>/final`` (Hugging Face format, resolved config, model card) plus metrics.jsonl with the
implicit rewards (reward_chosen, reward_rejected, reward_margin, reward_accuracy).
Configs with ``modality: vision`` go to the vision-language recipe in geo. At cluster scale,
``redstar rl launch --algo dpo`` runs OpenRLHF's DPO on the same rows.

examples:
  redstar dpo configs/dpo_tiny_cpu.yaml out=runs/dpo_tiny
  redstar dpo configs/dpo_redstar.yaml model=runs/sft/final data.train=[runs/math/preferences.jsonl]
  torchrun --nproc_per_node=8 -m redstar.cli dpo configs/dpo_redstar.yaml train.strategy=deepspeed
"""

from __future__ import annotations


def add_arguments(parser) -> None:
    from redstar.config import add_config_arguments

    add_config_arguments(parser, "redstar.train.dpo:DPOConfig", "dpo.beta=0.05 train.lr=5e-7")


def run(args) -> int:
    from redstar.config import config_from_args
    from redstar.train.dpo import DPOConfig
    from redstar.train.dpo import run as run_dpo

    cfg = config_from_args(DPOConfig, args)
    if cfg is None:
        return 0
    s = run_dpo(cfg)
    print(f"final model: {s['final_dir']} (loss {s['final_loss']:.4f}, {s['step']} steps)")
    return 0

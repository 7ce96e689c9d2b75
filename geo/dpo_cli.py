"""redstar dpo (modality: vision): DPO of a vision-language model on image preference rows.

    redstar dpo CONFIG.yaml [key=value ...]

Reached when the YAML has top-level ``modality: vision`` (schema geo.dpo:VLDPOConfig). Rows
are preference rows: ``prompt`` (messages, ``<image>`` markers or images before the first user
turn), ``chosen`` and ``rejected`` (assistant messages) and ``images`` (paths relative to the
data file). Reference log-probabilities come from the starting model (or ``ref_model``),
computed once before training; pairs are packed with per-sample multimodal positions.
``dpo.beta``, ``dpo.label_smoothing`` (cDPO) and ``dpo.sft_weight`` (RPO) set the loss.

examples:
  redstar dpo configs/geo_dpo_tiny.yaml out=runs/geo_dpo_tiny
  redstar dpo configs/geo_dpo_qwen2vl.yaml model=runs/geo_sft/final data.train=[data/geo_pref.jsonl]
"""

from __future__ import annotations


def add_arguments(parser) -> None:
    from redstar.config import add_config_arguments

    add_config_arguments(parser, "geo.dpo:VLDPOConfig", "dpo.beta=0.05 train.lr=5e-7")


def run(args) -> int:
    from geo.dpo import VLDPOConfig
    from geo.dpo import run as run_dpo
    from redstar.config import config_from_args

    cfg = config_from_args(VLDPOConfig, args)
    if cfg is None:
        return 0
    s = run_dpo(cfg)
    print(f"final model: {s['final_dir']} (loss {s['final_loss']:.4f}, {s['step']} steps, {s['data']['rows']} pairs)")
    return 0

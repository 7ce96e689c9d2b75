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
    from redstar.rundir import add_overwrite_argument

    add_config_arguments(parser, "redstar.train.dpo:DPOConfig", "dpo.beta=0.05 train.lr=5e-7")
    add_overwrite_argument(parser)


def run(args) -> int:
    from redstar.config import config_from_args, to_dict
    from redstar.rundir import local_model, open_config_run
    from redstar.train.checkpoint import trim_metrics
    from redstar.train.dpo import DPOConfig
    from redstar.train.dpo import run as run_dpo

    cfg = config_from_args(DPOConfig, args)
    if cfg is None:
        return 0
    from redstar.train.sft_cli import check_train_settings

    check_train_settings(cfg.train)
    run_dir = open_config_run(
        "dpo",
        to_dict(cfg),
        inputs=list(cfg.data.train) + local_model(cfg.model),
        overwrite=getattr(args, "overwrite", False),
    )
    if run_dir.complete:
        print(run_dir.complete_message())
        return 0
    if run_dir.is_main:
        trim_metrics(cfg.out, cfg.train.resume)  # steps redone after a kill are logged once
    s = run_dpo(cfg)
    print(f"final model: {s['final_dir']} (loss {s['final_loss']:.4f}, {s['step']} steps)")
    run_dir.finish({k: s.get(k) for k in ("final_dir", "step", "final_loss")})
    if s.get("final_dir"):  # push.repo set: publish it (rank 0 only has final_dir)
        from redstar.release.push import push_after_training

        push_after_training(s["final_dir"], cfg.push)
    return 0

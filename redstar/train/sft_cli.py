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
"""

from __future__ import annotations


def add_arguments(parser) -> None:
    from redstar.config import add_config_arguments
    from redstar.rundir import add_overwrite_argument

    add_config_arguments(parser, "redstar.train.sft:SFTConfig", "train.lr=3e-6 data.max_len=8192")
    add_overwrite_argument(parser)


def check_train_settings(tcfg) -> None:
    """Settings that cannot work on this machine, refused before any data or model loads:
    a CUDA device without CUDA, W&B logging without wandb installed."""
    import importlib.util

    from redstar.config import ConfigError

    if str(tcfg.device).startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ConfigError(
                f"train.device={tcfg.device}, but no CUDA device is available here; use train.device=cpu (or auto)"
            )
    if tcfg.wandb_project and importlib.util.find_spec("wandb") is None:
        raise ConfigError(
            f"train.wandb_project={tcfg.wandb_project!r}, but wandb is not installed: "
            "pip install wandb, or leave train.wandb_project empty"
        )


def run(args) -> int:
    from redstar.config import config_from_args, to_dict
    from redstar.rundir import local_model, open_config_run
    from redstar.train.sft import SFTConfig, resolve_stages
    from redstar.train.sft import run as run_sft

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
    )
    if run_dir.complete:
        print(run_dir.complete_message())
        return 0
    summaries = run_sft(cfg)
    for s in summaries:
        if s.get("final_dir"):
            print(
                f"[{s['stage']}] final model: {s['final_dir']}"
                + (f" (loss {s['final_loss']:.4f}, {s['step']} steps)" if "final_loss" in s else "")
            )
    run_dir.finish({"stages": [{k: s.get(k) for k in ("stage", "final_dir", "step", "final_loss")} for s in summaries]})
    finals = [s["final_dir"] for s in summaries if s.get("final_dir")]
    if finals:  # push.repo set: publish the last stage's model (rank 0 only has final_dir)
        from redstar.release.push import push_after_training

        push_after_training(finals[-1], cfg.push)
    return 0

"""The training loop, written once for SFT, DPO and reward models; the loss is pluggable.

    trainer = Trainer(model, loss_fn, loader, TrainConfig(lr=1e-5, grad_accum=4), out_dir="runs/x",
                      tokenizer=tok, run_config=cfg)
    summary = trainer.train()         # resumes from out_dir/checkpoints when one exists

``loss_fn(model, batch) -> (loss_sum, n_targets, metrics)``: the *sum* of the loss over the
batch's targets (tokens for SFT, pairs for DPO, groups for a reward model), their number, and
any extra floats to log. ``loader`` is a :class:`PlanLoader`: a deterministic per-epoch plan
of micro-batches (lists of item indices) plus a collate function, so the data position is
just (epoch, micro-batch index) and a resumed run continues exactly where it stopped. The
count used for normalisation comes from ``batch["num_targets"]`` (set by the collators in
packing.py; DPO / RM collators set it to their pair / group count) before any forward pass,
so every micro-batch back-propagates ``loss_sum * world / N_step`` (loss.scale_for_backward).

Per step it logs loss (mean over the step's targets), lr, grad norm, tokens/s, target
tokens/s and MFU (6N per token plus causal attention, against ``peak_tflops``).
"""

from __future__ import annotations

import math
import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch

from redstar.train.checkpoint import (
    check_plan,
    export_pretrained,
    latest_checkpoint,
    load_checkpoint,
    plan_hash,
    save_checkpoint,
)
from redstar.train.distributed import Backend, DistInfo, deepspeed_config, init_distributed
from redstar.train.loss import global_target_count, scale_for_backward
from redstar.train.tracking import MetricsLogger, plot_loss


@dataclass
class TrainConfig:
    """Optimisation and infrastructure settings shared by every recipe."""

    lr: float = field(default=1e-5, metadata={"help": "peak learning rate (AdamW)"})
    min_lr_ratio: float = field(default=0.0, metadata={"help": "cosine floor as a fraction of lr"})
    schedule: Literal["cosine", "linear", "constant"] = field(
        default="cosine", metadata={"help": "learning-rate schedule after warm-up"}
    )
    warmup_ratio: float = field(
        default=0.03, metadata={"help": "share of the optimizer steps spent warming up linearly from 0"}
    )
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay"})
    betas: list[float] = field(default_factory=lambda: [0.9, 0.95], metadata={"help": "AdamW (beta1, beta2)"})
    epochs: int = field(default=1, metadata={"help": "passes over the data"})
    max_steps: int = field(default=0, metadata={"help": "> 0 caps the run (overrides epochs)"})
    grad_accum: int = field(default=1, metadata={"help": "micro-batches per optimizer step per rank"})
    max_grad_norm: float = field(default=1.0, metadata={"help": "gradient-norm clip (0: no clipping)"})
    dtype: Literal["float32", "bfloat16"] = field(
        default="bfloat16", metadata={"help": "parameter and compute dtype (bfloat16 on GPU, float32 on CPU)"}
    )
    gradient_checkpointing: bool = field(
        default=True, metadata={"help": "recompute activations in the backward pass to save memory"}
    )
    seed: int = field(default=42, metadata={"help": "seed for the data order and initialisation"})
    device: str = field(default="auto", metadata={"help": "auto, cpu, cuda or cuda:N"})
    strategy: Literal["auto", "torch", "deepspeed"] = field(
        default="auto", metadata={"help": "auto: torch (data parallel when WORLD_SIZE > 1); deepspeed for ZeRO"}
    )
    zero_stage: int = field(default=2, metadata={"help": "deepspeed only: 2 or 3"})
    offload: bool = field(default=False, metadata={"help": "deepspeed only: optimizer (and ZeRO-3 params) on CPU"})
    deepspeed_config: str = field(default="", metadata={"help": "optional JSON merged under the settings above"})
    save_every: int = field(default=0, metadata={"help": "steps between resumable checkpoints (0: none mid-run)"})
    keep_last: int = field(default=2, metadata={"help": "checkpoints kept on disk (older ones are deleted)"})
    resume: bool = field(default=True, metadata={"help": "continue from the newest checkpoint in out"})
    log_every: int = field(default=1, metadata={"help": "optimizer steps between metrics lines"})
    tensorboard: bool = field(default=True, metadata={"help": "write tensorboard/ event files"})
    wandb_project: str = field(default="", metadata={"help": "W&B when set and wandb is installed"})
    peak_tflops: float = field(default=0.0, metadata={"help": "0: known GPUs auto, else MFU is not reported"})
    progress: bool = field(default=True, metadata={"help": "show a progress bar on the terminal"})

    def __post_init__(self):
        # cross-field and range checks: a bad config fails when it is loaded, before any model
        from redstar.config import ConfigError

        if self.lr < 0 or not 0 <= self.warmup_ratio < 1 or not 0 <= self.min_lr_ratio <= 1:
            raise ConfigError(
                f"lr must be >= 0, warmup_ratio in [0, 1) and min_lr_ratio in [0, 1] "
                f"(got {self.lr}, {self.warmup_ratio}, {self.min_lr_ratio})"
            )
        if self.grad_accum < 1 or self.epochs < 1 and self.max_steps <= 0:
            raise ConfigError(
                f"grad_accum must be >= 1 and epochs >= 1 unless max_steps is set "
                f"(got grad_accum={self.grad_accum}, epochs={self.epochs})"
            )
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ConfigError(f"betas must be two numbers in [0, 1), got {self.betas}")
        if self.strategy == "deepspeed" and self.zero_stage not in (2, 3):
            raise ConfigError(f"zero_stage must be 2 or 3 with strategy deepspeed, got {self.zero_stage}")
        if self.offload and self.strategy == "torch":
            raise ConfigError("offload needs strategy deepspeed (or auto on a DeepSpeed launch), not torch")


def check_train_settings(tcfg) -> None:
    """Settings that cannot work on this machine, refused before any data or model loads:
    a CUDA device without CUDA, W&B logging without wandb installed."""
    import importlib.util

    from redstar.config import ConfigError

    if str(tcfg.device).startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(
                f"train.device={tcfg.device}, but no CUDA device is available here; use train.device=cpu (or auto)"
            )
    if tcfg.wandb_project and importlib.util.find_spec("wandb") is None:
        raise ConfigError(
            f"train.wandb_project={tcfg.wandb_project!r}, but wandb is not installed: "
            "pip install wandb, or leave train.wandb_project empty"
        )


class PlanLoader:
    """``dataset[i]`` items, a plan ``plan_fn(epoch) -> list of micro-batches (index lists)``
    and ``collate_fn(items) -> batch``. Ranks take interleaved micro-batches of the same plan;
    the plan is cut to a multiple of ``world_size * grad_accum`` so ranks stay in step."""

    def __init__(self, dataset: Sequence, plan_fn: Callable[[int], list[list[int]]], collate_fn: Callable):
        self.dataset, self.plan_fn, self.collate_fn = dataset, plan_fn, collate_fn

    def rank_plan(self, epoch: int, rank: int, world_size: int, grad_accum: int) -> list[list[int]]:
        plan = self.plan_fn(epoch)
        usable = len(plan) - len(plan) % (world_size * grad_accum)
        return plan[:usable][rank::world_size]

    def batch(self, indices: list[int]) -> dict:
        return self.collate_fn([self.dataset[i] for i in indices])

    def plan_digest(self, epoch: int) -> str:
        """A hash of the epoch's plan: an array plan (``packing.PackPlan``) hashes its arrays,
        a list of index lists its JSON."""
        plan = self.plan_fn(epoch)
        return plan.digest() if hasattr(plan, "digest") else plan_hash(plan)


def count_targets(batch: dict) -> int:
    if "num_targets" in batch:
        return int(batch["num_targets"])
    return int((batch["labels"] != -100).sum())


def _lr_lambda(cfg: TrainConfig, total: int):
    warm = int(round(cfg.warmup_ratio * total))

    def f(step: int) -> float:
        if warm > 0 and step < warm:
            return (step + 1) / warm
        if cfg.schedule == "constant":
            return 1.0
        progress = min(1.0, (step - warm) / max(1, total - warm))
        if cfg.schedule == "linear":
            return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * (1 - progress)
        return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return f


def peak_flops(cfg: TrainConfig, device: str) -> float:
    """Dense bf16 peak FLOP/s for MFU: the configured value, or a known GPU's datasheet."""
    if cfg.peak_tflops > 0:
        return cfg.peak_tflops * 1e12
    if device.startswith("cuda"):
        name = torch.cuda.get_device_name(device)
        for key, tflops in (("H200", 989), ("H100", 989), ("A100", 312), ("L40", 181), ("A10", 125)):
            if key in name:
                return tflops * 1e12
    return 0.0


def matmul_params(model) -> int:
    """Parameters that take part in a matmul per token (6N rule): all, minus the input
    embedding when it is not tied to the output head."""

    def numel(p) -> int:  # a ZeRO-3 partitioned parameter keeps its full size in ds_numel
        return int(getattr(p, "ds_numel", p.numel()))

    n = sum(numel(p) for p in model.parameters())
    emb, head = model.get_input_embeddings(), model.get_output_embeddings()
    if emb is not None and (head is None or head.weight is not emb.weight):
        n -= numel(emb.weight)
    return n


def _ds_config(cfg: TrainConfig, world_size: int) -> dict:
    import json

    base = json.loads(Path(cfg.deepspeed_config).read_text()) if cfg.deepspeed_config else None
    return deepspeed_config(cfg.zero_stage, cfg.grad_accum, world_size, cfg.dtype, cfg.max_grad_norm, cfg.offload, base)


def load_settings(cfg: TrainConfig, world_size: int) -> tuple[str, object | None]:
    """(the dtype to load the model in, an object to hold while it loads).

    The torch backend keeps fp32 master weights (bf16 compute under autocast): fp32. DeepSpeed
    keeps its own fp32 masters in the optimizer, so the model loads in the training dtype;
    under ZeRO-3 also with transformers' ``HfDeepSpeedConfig`` alive, so ``from_pretrained``
    partitions every weight as it loads (``deepspeed.zero.Init``) instead of each rank first
    holding the whole fp32 model. Build the model while the returned object is referenced."""
    strategy = cfg.strategy if cfg.strategy != "auto" else "torch"
    if strategy != "deepspeed":
        return "float32", None
    if cfg.zero_stage != 3:
        return cfg.dtype, None
    from transformers.integrations import HfDeepSpeedConfig

    if torch.distributed.is_available() and torch.distributed.is_initialized():
        # zero.Init reads the world size from DeepSpeed's own process-group wrapper
        import deepspeed

        from redstar.train.distributed import _skip_compiled_cpu_comm

        if torch.distributed.get_backend() != "nccl":
            _skip_compiled_cpu_comm()
        deepspeed.init_distributed(dist_backend=torch.distributed.get_backend())
    return cfg.dtype, HfDeepSpeedConfig(_ds_config(cfg, world_size))


def _is_partitioned(model) -> bool:
    return any(hasattr(p, "ds_id") for p in model.parameters())


def batch_flops(model, batch: dict, n_params: int) -> float:
    """Training FLOPs of one micro-batch: 6N per token plus causal attention
    (fwd 2 * 2 * d * L^2 / 2 per layer, x3 with backward) summed over samples."""
    ids = batch["input_ids"]
    if "cu_seqlens" in batch:
        cu = batch["cu_seqlens"].tolist()
        sq = sum((b - a) ** 2 for a, b in zip(cu, cu[1:]))
    elif "attention_mask" in batch:
        sq = int((batch["attention_mask"].sum(-1) ** 2).sum())
    else:
        sq = ids.shape[0] * ids.shape[1] ** 2
    c = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    head_dim = getattr(c, "head_dim", None)
    d = c.num_attention_heads * head_dim if head_dim else c.hidden_size  # q/k/v width
    return 6.0 * n_params * ids.numel() + 6.0 * c.num_hidden_layers * d * sq


def _fault_injection(step: int) -> None:
    """``REDSTAR_KILL_AFTER_CHECKPOINT=N`` SIGKILLs the process right after the checkpoint of
    step N is complete: how the kill-and-resume test interrupts a run at a known point."""
    at = os.environ.get("REDSTAR_KILL_AFTER_CHECKPOINT")
    if at and int(at) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def batch_to_device(batch: dict, device: str | torch.device) -> dict:
    """A collated batch with its tensors on ``device``; ``cu_seqlens`` (packed-sequence
    boundaries, read on the host by the attention kernels) and non-tensors stay as they are.
    Every recipe moves its batches with this one function."""
    return {
        k: (v.to(device, non_blocking=True) if torch.is_tensor(v) and k != "cu_seqlens" else v)
        for k, v in batch.items()
    }


class Trainer:
    def __init__(
        self,
        model,
        loss_fn: Callable,
        loader: PlanLoader,
        cfg: TrainConfig,
        out_dir: str | Path,
        tokenizer=None,
        run_config=None,
        model_card: Callable[[dict], str] | None = None,
        dist: DistInfo | None = None,
        param_groups: list[dict] | None = None,
        data_key: dict | None = None,
    ):
        self.cfg, self.loss_fn, self.loader = cfg, loss_fn, loader
        self.out_dir = Path(out_dir)
        self.tokenizer, self.run_config, self.model_card = tokenizer, run_config, model_card
        self.dist = dist or init_distributed(cfg.device)
        torch.manual_seed(cfg.seed)
        if cfg.gradient_checkpointing:
            if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5.2x
                model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
            else:
                model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if hasattr(model, "config"):
            model.config.use_cache = False
        strategy = cfg.strategy if cfg.strategy != "auto" else "torch"
        groups = param_groups or [{"params": [p for p in model.parameters() if p.requires_grad]}]
        self.n_params = matmul_params(model)
        if strategy == "deepspeed":
            ds = _ds_config(cfg, self.dist.world_size)
            if not _is_partitioned(model):  # loaded under load_settings: already sharded in place
                model.to(self.dist.device)
            if cfg.offload and self.dist.device.startswith("cuda"):
                # offloaded optimizer states live on the CPU: DeepSpeed's vectorised CPU Adam
                from deepspeed.ops.adam import DeepSpeedCPUAdam

                opt = DeepSpeedCPUAdam(
                    groups, lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay, adamw_mode=True
                )
            else:
                opt = torch.optim.AdamW(groups, lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)
            from redstar.train.distributed import DeepSpeedBackend

            self.backend = DeepSpeedBackend(model, opt, self.dist, ds, loss_fn)
            self.autocast = False  # DeepSpeed holds bf16 weights with fp32 masters itself
            inner = opt
        else:
            model.to(self.dist.device)  # fp32 master weights; bf16 compute under autocast
            opt = torch.optim.AdamW(groups, lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)
            self.backend = Backend(model, opt, self.dist, cfg.max_grad_norm, loss_fn)
            self.autocast = cfg.dtype == "bfloat16"
            inner = opt
        self.steps_per_epoch = (
            len(loader.rank_plan(0, self.dist.rank, self.dist.world_size, cfg.grad_accum)) // cfg.grad_accum
        )
        if self.steps_per_epoch == 0:
            raise ValueError(
                f"not enough data for one optimizer step: {len(loader.plan_fn(0))} micro-batches "
                f"for {self.dist.world_size} rank(s) x grad_accum {cfg.grad_accum}"
            )
        self.total_steps = cfg.max_steps if cfg.max_steps > 0 else cfg.epochs * self.steps_per_epoch
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(inner, _lr_lambda(cfg, self.total_steps))
        # what the (epoch, micro-batch) position means: a resume under other values is refused
        self.plan_key = {
            "grad_accum": cfg.grad_accum,
            "world_size": self.dist.world_size,
            "seed": cfg.seed,
            "items": len(loader.dataset),
            "plan_epoch0": loader.plan_digest(0),
            **(data_key or {}),
        }
        self.state = {"step": 0, "epoch": 0, "micro": 0, "tokens": 0, "targets": 0}

    # -------------------------------------------------------------------------------- loop
    def train(self) -> dict:
        cfg, dist = self.cfg, self.dist
        ckpt_root = self.out_dir / "checkpoints"
        if cfg.resume and (last := latest_checkpoint(ckpt_root)) is not None:
            check_plan(last, self.plan_key)
            self.state = {
                k: v
                for k, v in load_checkpoint(last, self.backend, self.scheduler).items()
                if k not in ("plan", "plan_hash")
            }
            if dist.is_main:
                print(
                    f"resumed from {last} (step {self.state['step']}, epoch {self.state['epoch']}, "
                    f"micro-batch {self.state['micro']})"
                )
        from redstar.config import to_dict

        logger = MetricsLogger(
            self.out_dir,
            dist.is_main,
            cfg.tensorboard,
            cfg.wandb_project,
            config=to_dict(self.run_config) if self.run_config is not None else None,
        )
        peak = peak_flops(cfg, dist.device)
        from tqdm import tqdm

        bar = tqdm(
            total=self.total_steps,
            initial=self.state["step"],
            desc="train",
            unit="step",
            disable=not (cfg.progress and dist.is_main),
        )
        model = self.backend.loss_model
        model.train()
        last_loss = float("nan")
        loop_start = time.perf_counter()
        while self.state["step"] < self.total_steps:
            plan = self.loader.rank_plan(self.state["epoch"], dist.rank, dist.world_size, cfg.grad_accum)
            while self.state["micro"] + cfg.grad_accum <= len(plan) and self.state["step"] < self.total_steps:
                t0 = time.perf_counter()
                micro = [self.loader.batch(plan[self.state["micro"] + j]) for j in range(cfg.grad_accum)]
                n_step = global_target_count([count_targets(b) for b in micro], dist.device)
                loss_total, tokens, flops, extra = 0.0, 0, 0.0, {}
                for b in micro:
                    tokens += b["input_ids"].numel()
                    flops += batch_flops(model, b, self.n_params)
                    b = batch_to_device(b, dist.device)
                    with torch.autocast(
                        device_type=dist.device.split(":")[0], dtype=torch.bfloat16, enabled=self.autocast
                    ):
                        loss_sum, _n, metrics = self.backend.loss(b)
                    self.backend.backward(scale_for_backward(loss_sum, n_step, dist.world_size))
                    loss_total += float(loss_sum.detach())
                    for k, v in (metrics or {}).items():
                        extra[k] = extra.get(k, 0.0) + float(v) / cfg.grad_accum
                grad_norm = self.backend.step()
                lr = self.scheduler.get_last_lr()[0]
                self.scheduler.step()
                # one all-reduce for the logged numbers: loss sum, tokens, flops, then the loss
                # function's extra metrics (each this rank's mean over its micro-batches; every
                # rank reports the same keys), averaged over ranks
                keys = sorted(extra)
                agg = torch.tensor(
                    [loss_total, tokens, flops] + [extra[k] for k in keys], dtype=torch.float64, device=dist.device
                )
                if dist.world_size > 1:
                    torch.distributed.all_reduce(agg)
                extra = {k: agg[3 + i].item() / dist.world_size for i, k in enumerate(keys)}
                dt = time.perf_counter() - t0
                last_loss = agg[0].item() / max(n_step, 1)
                self.state["step"] += 1
                self.state["micro"] += cfg.grad_accum
                self.state["tokens"] += int(agg[1].item())
                self.state["targets"] += n_step
                if self.state["step"] % cfg.log_every == 0 or self.state["step"] == self.total_steps:
                    row = {
                        "loss": last_loss,
                        "lr": lr,
                        "grad_norm": grad_norm,
                        "epoch": self.state["epoch"],
                        "tokens_per_s": agg[1].item() / dt,
                        "target_tokens_per_s": n_step / dt,
                        "step_time_s": dt,
                        **extra,
                    }
                    if peak > 0:
                        row["mfu"] = agg[2].item() / dt / (peak * dist.world_size)
                    logger.log(self.state["step"], row)
                    bar.set_postfix(loss=f"{last_loss:.4f}", lr=f"{lr:.2e}", tok_s=f"{row['tokens_per_s']:.0f}")
                bar.update(1)
                # the last step is checkpointed too: a kill during the export resumes at the end
                # and only exports, it never trains again
                if cfg.save_every > 0 and (
                    self.state["step"] % cfg.save_every == 0 or self.state["step"] == self.total_steps
                ):
                    save_checkpoint(
                        ckpt_root,
                        self.backend,
                        self.scheduler,
                        {**self.state, "plan": self.plan_key, "plan_hash": plan_hash(self.plan_key)},
                        cfg.keep_last,
                    )
                    _fault_injection(self.state["step"])
            if self.state["micro"] + cfg.grad_accum > len(plan):
                self.state["epoch"] += 1
                self.state["micro"] = 0
        loop_seconds = time.perf_counter() - loop_start
        bar.close()
        logger.close()
        final = export_pretrained(
            self.backend,
            self.tokenizer,
            self.out_dir / "final",
            self.run_config,
            self.model_card(dict(self.state)) if self.model_card else None,
        )
        if dist.is_main:
            plot_loss(self.out_dir / "metrics.jsonl", self.out_dir / "loss.png")
            if final is not None:  # the card gains its metadata, the loss plot and the resolved config
                from redstar.release.model_card import refresh_model_card

                refresh_model_card(final)
        return {
            **self.state,
            "final_loss": last_loss,
            "final_dir": str(final) if final else None,
            "loop_seconds": loop_seconds,
        }

"""Process groups and the three ways a model is trained: single process, DDP, DeepSpeed ZeRO.

Every recipe talks to a :class:`Backend`, so the training loop is written once:

    dist = init_distributed()                 # reads torchrun's RANK / WORLD_SIZE / LOCAL_RANK
    backend = make_backend(model, optimizer, dist, strategy="deepspeed", zero_stage=3, ...)
    backend.backward(loss); backend.step()    # per micro-batch / per optimizer step

DeepSpeed is imported only when asked for. With ZeRO the client optimizer is a plain torch
AdamW (no compiled CPU Adam), so CPU runs on gloo need no op builds. DeepSpeed divides the
loss by its gradient-accumulation count; :meth:`DeepSpeedBackend.backward` undoes that, since
the engine's loss is already normalised over the whole step (loss.scale_for_backward).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str = "cpu"

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str = "auto") -> DistInfo:
    """Join the process group when launched by torchrun / deepspeed (gloo on CPU, nccl on GPU)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        torch.cuda.set_device(local)
        device = f"cuda:{local}"
    if world > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        torch.distributed.init_process_group(backend=backend)
    return DistInfo(rank=rank, world_size=world, local_rank=local, device=device)


def decided_by_rank0(decide, device: str = "auto"):
    """``decide()`` run on rank 0 alone, its result (or its error) given to every rank.

    What one process must decide for all, such as whether a run directory is new, resumed,
    complete or refused: the other ranks wait here (this joins the process group when
    launched by torchrun) and never look at files rank 0 is still writing. An error is
    raised on every rank (a copy of it elsewhere than rank 0)."""
    info = init_distributed(device)
    if info.world_size == 1:
        return decide()
    payload: list = [None]
    error = None
    if info.is_main:
        try:
            payload = [("ok", decide())]
        except Exception as e:  # noqa: BLE001 - shared with the other ranks, then raised
            error = e
            payload = [("error", _portable(e))]
    torch.distributed.broadcast_object_list(payload, src=0)
    kind, value = payload[0]
    if error is not None:
        raise error
    if kind == "error":
        raise value
    return value


def _portable(e: Exception) -> Exception:
    """``e`` itself when it survives pickling (RunDirError, ConfigError), else a ConfigError
    with its message."""
    import pickle

    from redstar.config import ConfigError

    try:
        pickle.loads(pickle.dumps(e))
        return e
    except Exception:  # noqa: BLE001 - any exception that cannot travel
        return ConfigError(f"{type(e).__name__}: {e}")


def barrier() -> None:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()


class Backend:
    """Single process, or plain data parallel: parameters broadcast from rank 0 at start and
    gradients averaged over ranks once per optimizer step (one flat all-reduce). Loss
    functions call sub-modules (decoder, head) directly, which a DDP wrapper would not see,
    so the reduction is explicit; DeepSpeed is the choice for overlap and sharding."""

    kind = "torch"

    def __init__(self, model, optimizer, dist: DistInfo, max_grad_norm: float = 1.0, loss_fn=None):
        self.dist = dist
        self.loss_fn = loss_fn
        self.module = model  # the unwrapped model (save, loss_fn)
        self.model = model
        self.optimizer = optimizer
        self.max_grad_norm = max_grad_norm
        if dist.world_size > 1:
            with torch.no_grad():
                for t in list(model.parameters()) + list(model.buffers()):
                    torch.distributed.broadcast(t.data, src=0)

    @property
    def loss_model(self):
        """What ``loss_fn`` receives."""
        return self.module

    def loss(self, batch: dict):
        """``loss_fn(model, batch)`` for one micro-batch."""
        return self.loss_fn(self.module, batch)

    def backward(self, loss: torch.Tensor) -> None:
        loss.backward()

    def step(self) -> float:
        """Average gradients over ranks, clip, step, zero; returns the pre-clip grad norm."""
        if self.dist.world_size > 1:
            _allreduce_mean(self.module, self.dist.world_size)
        params = [p for p in self.module.parameters() if p.requires_grad]
        norm = torch.nn.utils.clip_grad_norm_(params, self.max_grad_norm if self.max_grad_norm > 0 else float("inf"))
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return float(norm)

    def state_dict_for_export(self) -> dict:
        """The full weights on rank 0 (a CPU copy), nothing on the others: every rank holds
        them whole here (and at ZeRO-1/2), only rank 0 writes."""
        if not self.dist.is_main:
            return {}
        return {k: v.detach().cpu() for k, v in self.module.state_dict().items()}


def _allreduce_mean(module, world_size: int) -> None:
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        if p.grad is None:  # a rank that did not touch a parameter still joins the reduction
            p.grad = torch.zeros_like(p)
    grads = [p.grad for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    torch.distributed.all_reduce(flat)
    flat /= world_size
    off = 0
    for g in grads:
        g.copy_(flat[off : off + g.numel()].view_as(g))
        off += g.numel()


class _LossModule(torch.nn.Module):
    """DeepSpeed does its per-micro-batch bookkeeping (ZeRO-3 gradient accumulation counts,
    parameter gathering) in ``engine.forward``; the loss function must run inside it, so the
    engine wraps this module and its forward is ``loss_fn(model, batch)``."""

    def __init__(self, model, loss_fn):
        super().__init__()
        self.model = model
        self.loss_fn = loss_fn

    def forward(self, batch: dict):
        return self.loss_fn(self.model, batch)


class DeepSpeedBackend(Backend):
    kind = "deepspeed"

    def __init__(self, model, optimizer, dist: DistInfo, ds_config: dict, loss_fn):
        import deepspeed

        if not dist.device.startswith("cuda"):
            _skip_compiled_cpu_comm()
        self.dist = dist
        self.ds_config = ds_config
        self.grad_accum = int(ds_config.get("gradient_accumulation_steps", 1))
        engine, opt, _, _ = deepspeed.initialize(
            model=_LossModule(model, loss_fn), optimizer=optimizer, config=ds_config
        )
        self.model = engine
        self.module = engine.module.model
        self.optimizer = opt
        self.max_grad_norm = float(ds_config.get("gradient_clipping", 0.0))

    def loss(self, batch: dict):
        return self.model(batch)

    def backward(self, loss: torch.Tensor) -> None:
        # the engine divides by gradient_accumulation_steps; the loss is already step-normalised
        self.model.backward(loss * self.grad_accum)
        self.model.step()  # a no-op except at the accumulation boundary

    def step(self) -> float:
        norm = self.model.get_global_grad_norm()
        return float(norm) if norm is not None else float("nan")

    @property
    def zero_stage(self) -> int:
        return int(self.ds_config.get("zero_optimization", {}).get("stage", 0))

    def state_dict_for_export(self) -> dict:
        """Full weights on every rank's call (collective under ZeRO-3), returned on rank 0."""
        if self.zero_stage == 3:
            sd = self.model._zero3_consolidated_16bit_state_dict()
            return {k.removeprefix("model."): v.detach().cpu() for k, v in (sd or {}).items()}
        return super().state_dict_for_export()


def _skip_compiled_cpu_comm() -> None:
    """On CPU DeepSpeed compiles a shared-memory all-reduce op the first time it starts. It is
    only a speed-up over gloo, and compiling needs a C++ toolchain and minutes, so CPU runs
    (debugging, tests) use plain gloo collectives instead."""
    import deepspeed.ops

    compatible = getattr(deepspeed.ops, "__compatible_ops__", None)
    if isinstance(compatible, dict):
        compatible["deepspeed_shm_comm"] = False


def deepspeed_config(
    zero_stage: int,
    grad_accum: int,
    world_size: int,
    dtype: str,
    max_grad_norm: float,
    offload: bool = False,
    base: dict | None = None,
) -> dict:
    """A DeepSpeed config consistent with the engine's own settings (JSON files under
    launch/deepspeed/ may add to it; their batch and precision keys are overwritten here so the
    two never disagree)."""
    cfg = dict(base or {})
    zero = dict(cfg.get("zero_optimization", {}))
    zero["stage"] = zero_stage
    if zero_stage == 3:
        zero.setdefault("stage3_gather_16bit_weights_on_model_save", True)
    if offload:
        zero["offload_optimizer"] = {"device": "cpu", "pin_memory": torch.cuda.is_available()}
        if zero_stage == 3:
            zero["offload_param"] = {"device": "cpu", "pin_memory": torch.cuda.is_available()}
    cfg["zero_optimization"] = zero
    cfg["train_micro_batch_size_per_gpu"] = 1
    cfg["gradient_accumulation_steps"] = grad_accum
    cfg["train_batch_size"] = grad_accum * world_size
    cfg["gradient_clipping"] = max_grad_norm
    cfg["bf16"] = {"enabled": dtype == "bfloat16"}
    # gradients accumulate over micro-batches (and reduce) in fp32, not in the bf16 weights' dtype
    cfg["data_types"] = {**cfg.get("data_types", {}), "grad_accum_dtype": "fp32"}
    cfg["fp16"] = {"enabled": False}
    cfg["zero_allow_untested_optimizer"] = True  # a torch AdamW, no compiled ops
    cfg["zero_force_ds_cpu_optimizer"] = False  # CPU runs offload with the torch AdamW too
    cfg.setdefault("steps_per_print", 10**9)
    cfg.setdefault("wall_clock_breakdown", False)
    return cfg

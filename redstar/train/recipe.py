"""What the training recipes share around the engine's loop: the config keys they have in common
and the set-up before training.

The recipes here are text SFT and DPO (sft.py, dpo.py) and the vision-language SFT and DPO
(geo/sft.py, geo/dpo.py); the reward model (redstar/rm/train.py) takes the same steps without
choosing an attention kernel (``attn_implementation=None``). Each reads top to bottom::

    dist = seed_and_devices(cfg.train)     # seed first: data order, new weights, dropout follow from it
    rows = ...                             # read and check the data: its errors surface before any model loads
    attn, (model, tok) = load_for_training(
        lambda attn, dtype: load_causal_lm(name, dtype=dtype, attn_implementation=attn),
        cfg.train, dist, cfg.attn_implementation,
    )
    trainer = Trainer(model, loss_fn, loader, cfg.train, cfg.out, dist=dist, ...)

The config keys the recipes share are written once here as field factories (``out_field``,
``attention_field``, ``train_field`` ...), so a key keeps one default and one help text
wherever it appears; each recipe's dataclass still lists its keys in its own order.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import field
from typing import Any, Literal

import torch

from redstar.release.push import PushConfig
from redstar.train.engine import TrainConfig

# ----------------------------------------------------------------------------- shared config keys

AttentionKind = Literal["auto", "flash_attention_2", "flex_attention", "sdpa", "eager"]
LossImpl = Literal["auto", "chunked", "liger", "naive"]

ATTENTION_HELP = "attention kernel: auto picks the fastest the model supports"


def out_field(default: str) -> Any:
    """``out``: the run directory."""
    return field(default=default, metadata={"help": "run directory: checkpoints, metrics.jsonl, tensorboard/, final/"})


def attention_field(help: str = ATTENTION_HELP) -> Any:
    """``attn_implementation``: one of ``AttentionKind``, auto by default (redstar/train/attention.py)."""
    return field(default="auto", metadata={"help": help})


def loss_impl_field() -> Any:
    """``loss_impl``: the SFT cross-entropy implementation (redstar/train/loss.py)."""
    return field(
        default="auto",
        metadata={"help": "cross-entropy implementation: chunked (never full logits), liger, naive; auto picks"},
    )


def ref_model_field() -> Any:
    """``ref_model`` of the DPO recipes."""
    return field(default="", metadata={"help": 'the frozen reference model ("": the starting model itself)'})


def trust_remote_code_field() -> Any:
    """``trust_remote_code`` of the vision-language recipes."""
    return field(default=False, metadata={"help": "allow model code from the hub (InternVL needs it)"})


def system_prompt_file_field() -> Any:
    """``data.system_prompt_file`` of the text recipes, next to ``data.system_prompt``
    (``redstar.config.RowFilesConfig``); ``system_prompt(data)`` reads the two."""
    return field(
        default="",
        metadata={
            "help": "the same, read from a file: a path, or a prompt shipped in redstar/prompts/ (redstar_system.txt)"
        },
    )


def system_prompt(data) -> str | None:
    """The system prompt a text recipe's ``data`` asks for: ``system_prompt_file`` read (a path,
    or a prompt shipped in redstar/prompts/), else ``system_prompt``; None when neither is set."""
    if data.system_prompt_file:
        from redstar.prompts import load_prompt

        return load_prompt(data.system_prompt_file, what="data.system_prompt_file").strip()
    return data.system_prompt or None


def train_field() -> Any:
    """``train``: the engine's ``TrainConfig``."""
    return field(
        default_factory=TrainConfig,
        metadata={"help": "optimisation and infrastructure (redstar.train.engine.TrainConfig)"},
    )


def push_field() -> Any:
    """``push``: publish the final model when training ends (redstar/release/push.py)."""
    return field(default_factory=PushConfig, metadata={"help": "push.repo: publish the final model when done"})


# ----------------------------------------------------------------------------- set-up


def seed_and_devices(tcfg: TrainConfig):
    """Seed Python's and torch's generators with ``tcfg.seed``, then join the process group
    (when launched by torchrun / deepspeed) and pick the device: the ``DistInfo``."""
    from redstar.train.distributed import init_distributed

    random.seed(tcfg.seed)
    torch.manual_seed(tcfg.seed)
    return init_distributed(tcfg.device)


def load_for_training(
    load: Callable[[str | None, str], Any],
    tcfg: TrainConfig,
    dist,
    attn_implementation: str | None = None,
    model_class=None,
    log=None,
) -> tuple[str | None, Any]:
    """(attention kernel, ``load(attn, dtype)``): the model loaded as the engine's backend wants it.

    The kernel is ``choose_attention(attn_implementation, device, model_class, log)`` (None
    when ``attn_implementation`` is None: the recipe does not choose one). ``load`` gets the
    dtype of ``redstar.train.engine.load_settings`` and runs while its ZeRO-3 object is held:
    fp32 on the torch backend, the training dtype under DeepSpeed, and under ZeRO-3
    partitioned as it loads. The object is released on return, so a model loaded later (a
    separate DPO reference model) loads whole, outside ZeRO-3."""
    from redstar.train import engine
    from redstar.train.attention import choose_attention

    attn = None if attn_implementation is None else choose_attention(attn_implementation, dist.device, model_class, log)
    load_dtype, zero3_init = engine.load_settings(tcfg, dist.world_size)
    loaded = load(attn, load_dtype)
    del zero3_init
    return attn, loaded

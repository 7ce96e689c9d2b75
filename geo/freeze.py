"""Which parts of a vision-language model train, and at what learning rate.

A VL model is three parts: the vision tower (ViT), the projector that maps its features into
the language model's embedding space (Qwen2-VL's patch merger, LLaVA / InternVL's
``multi_modal_projector``) and the language model (with its embeddings and head). Long-CoT
geometry SFT usually trains the language model and projector and freezes the tower, or trains
the tower at a lower rate (RedStar-Geo, InternVL recipes); both are a config switch here:

    freeze:
      train_vision: false
      train_projector: true
      train_language: true
      lr_projector: 2.0e-5        # 0: the recipe's lr

``apply_freeze`` sets ``requires_grad`` and returns optimizer parameter groups, one per
trained part, which the engine's ``Trainer(param_groups=...)`` takes as they are (the warmup /
cosine schedule multiplies each group's own lr).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# name fragments, checked in this order (the projector sits inside Qwen2-VL's ``visual``)
PROJECTOR_KEYS = ("visual.merger", "multi_modal_projector", "mm_projector", "mlp1.")
VISION_KEYS = ("visual.", "vision_tower", "vision_model")


@dataclass
class FreezeConfig:
    train_vision: bool = field(default=False, metadata={"help": "train the vision tower"})
    train_projector: bool = field(default=True, metadata={"help": "train the vision-language projector"})
    train_language: bool = field(default=True, metadata={"help": "train the language model"})
    lr_vision: float = field(default=0.0, metadata={"help": "learning rate of the vision tower (0: the recipe's lr)"})
    lr_projector: float = field(default=0.0, metadata={"help": "learning rate of the projector (0: the recipe's lr)"})
    lr_language: float = field(
        default=0.0, metadata={"help": "learning rate of the language model (0: the recipe's lr)"}
    )

    def __post_init__(self):
        from redstar.config import ConfigError

        if not (self.train_vision or self.train_projector or self.train_language):
            raise ConfigError("freeze: every part is frozen; set train_vision, train_projector or train_language")


def part_of(name: str) -> str:
    """'vision' | 'projector' | 'language' for a parameter name."""
    if any(k in name for k in PROJECTOR_KEYS):
        return "projector"
    if any(k in name for k in VISION_KEYS):
        return "vision"
    return "language"


def apply_freeze(model, cfg: FreezeConfig, base_lr: float) -> list[dict]:
    """Freeze / unfreeze by part; return parameter groups ``{"params", "lr", "name"}``.

    Raises ValueError when nothing would train, or when the model has no parameter of a part
    the config asks to train (a wrong model class would otherwise train silently less)."""
    train = {"vision": cfg.train_vision, "projector": cfg.train_projector, "language": cfg.train_language}
    lrs = {"vision": cfg.lr_vision, "projector": cfg.lr_projector, "language": cfg.lr_language}
    groups: dict[str, list] = {"vision": [], "projector": [], "language": []}
    seen = set()
    for name, p in model.named_parameters():
        if id(p) in seen:  # tied weights appear once
            continue
        seen.add(id(p))
        part = part_of(name)
        p.requires_grad_(train[part])
        groups[part].append(p)
    for part, on in train.items():
        if on and not groups[part]:
            raise ValueError(
                f"freeze: train_{part} is set but {type(model).__name__} has no {part} parameters "
                f"(looked for {PROJECTOR_KEYS if part == 'projector' else VISION_KEYS if part == 'vision' else 'the rest'})"
            )
    out = [
        {"params": groups[part], "lr": lrs[part] or base_lr, "name": part}
        for part in ("vision", "projector", "language")
        if train[part]
    ]
    if not out:
        raise ValueError("freeze: every part is frozen; nothing would train")
    return out


def count_parameters(model) -> dict[str, dict[str, int]]:
    """{part: {"total": n, "trainable": n}} for logs and the model card."""
    out: dict[str, dict[str, int]] = {}
    seen = set()
    for name, p in model.named_parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        d = out.setdefault(part_of(name), {"total": 0, "trainable": 0})
        n = int(getattr(p, "ds_numel", p.numel()))  # a ZeRO-3 shard counts its full size
        d["total"] += n
        d["trainable"] += n if p.requires_grad else 0
    return out

"""redstar sft (vision-language recipe): image+text SFT of a Qwen2-VL / Qwen2.5-VL / InternVL model.

    redstar sft CONFIG.yaml [key=value ...]

Run for a config whose first line is ``# schema: geo.sft:VLSFTConfig`` (redstar/cli.py: RECIPES). Rows
are SFT rows (``messages`` + ``images``, paths relative to the data file; ``<image>`` markers
in the text, or the images go before the first user turn). Samples are packed with per-sample
multimodal rotary positions; ``freeze.*`` picks which of vision tower / projector / language
model train, each with its own lr. Broken images stop the run naming file:line, or with
``data.skip_bad=true`` are skipped and counted. Output: ``<out>/final`` (HF format, processor,
redstar_config.yaml, model card), metrics.jsonl, loss.png.

examples:
  python -m geo.generator --out data/geo_synth --n 64
  redstar sft configs/geo_sft_tiny.yaml out=runs/geo_sft_tiny
  redstar sft configs/geo_sft_qwen2vl.yaml data.train=[data/geoqa_sft.jsonl] train.lr=1e-5

Vision-language SFT: image+text chat rows -> packed micro-batches -> the shared engine.

Reads top to bottom: config, seed, processor, data (encoded once, images decoded per batch),
model, freezing, trainer, train, save. The loop, normalisation by target tokens over the
step, checkpoints and the final export are the text engine's (``redstar.train``); what is
vision-specific is the model class (``AutoModelForImageTextToText``), the processor, the
collation with multimodal rotary positions (collate.py) and the part-wise freezing (freeze.py).

``model: tiny:qwen2_vl`` / ``tiny:qwen2_5_vl`` / ``tiny:internvl`` builds a random test-sized model offline (CPU
tests, the demo); any Hugging Face directory or hub id of the Qwen2-VL, Qwen2.5-VL or
transformers-native InternVL families loads through the Auto classes, without
``trust_remote_code`` unless the config sets it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import torch

from geo.collate import model_inputs
from geo.dataset import VLDataConfig
from geo.freeze import FreezeConfig
from redstar.config import ConfigError
from redstar.release.push import PushConfig
from redstar.train import recipe
from redstar.train.engine import TrainConfig
from redstar.train.loss import _is_zero3_partitioned, checkpointed_head_cross_entropy, linear_cross_entropy


@dataclass
class VLSFTConfig:
    data: VLDataConfig = field(metadata={"help": "image+text SFT rows"})
    model: str = field(
        default="Qwen/Qwen2-VL-2B-Instruct",
        metadata={"help": "HF directory, hub id, or tiny:qwen2_vl | tiny:qwen2_5_vl"},
    )
    out: str = recipe.out_field("runs/geo_sft")
    modality: Literal["vision"] = field(default="vision", metadata={"help": "always vision for this recipe"})
    trust_remote_code: bool = recipe.trust_remote_code_field()
    attn_implementation: recipe.AttentionKind = recipe.attention_field()
    loss_impl: recipe.LossImpl = recipe.loss_impl_field()
    freeze: FreezeConfig = field(
        default_factory=FreezeConfig,
        metadata={"help": "which parts (vision tower, projector, language model) train, and their learning rates"},
    )
    train: TrainConfig = recipe.train_field()
    push: PushConfig = recipe.push_field()


def vl_model_class(name: str, trust_remote_code: bool = False):
    """The model class ``load_vl_model(name)`` builds, read from the config alone (the
    attention choice depends on what it supports); None where it cannot be told."""
    if name.startswith("tiny:"):
        from transformers import Qwen2_5_VLForConditionalGeneration, Qwen2VLForConditionalGeneration

        return {"qwen2_vl": Qwen2VLForConditionalGeneration, "qwen2_5_vl": Qwen2_5_VLForConditionalGeneration}.get(
            name.split(":", 1)[1]
        )
    try:
        from transformers import AutoConfig, AutoModelForImageTextToText

        from redstar.models import resolve_model_path

        config = AutoConfig.from_pretrained(resolve_model_path(name), trust_remote_code=trust_remote_code)
        return AutoModelForImageTextToText._model_mapping[type(config)]
    except Exception:  # remote code or an unknown architecture: the generic choice
        return None


def load_vl_model(
    name: str, attn: str = "sdpa", trust_remote_code: bool = False, seed: int = 0, dtype: str = "float32"
):
    """(model in ``dtype``, processor). ``tiny:KIND`` gives redstar.models.tiny_vl_model(KIND),
    or geo.tiny.tiny_internvl_model for ``tiny:internvl``. The recipes pass the dtype of
    ``redstar.train.engine.load_settings`` and load while its ZeRO-3 object is held, so under
    ZeRO-3 ``from_pretrained`` partitions the weights as they load."""
    if name.startswith("tiny:"):
        from geo.tiny import tiny_internvl_model
        from redstar.models import tiny_vl_model

        kind = name.split(":", 1)[1]
        model, proc = tiny_internvl_model(seed=seed) if kind == "internvl" else tiny_vl_model(kind, seed=seed)
        from redstar.train.attention import set_attention

        set_attention(model, attn)
        return model.to(getattr(torch, dtype)), proc
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from redstar.models import resolve_model_path

    path = resolve_model_path(name)
    kw = {"trust_remote_code": True} if trust_remote_code else {}
    proc = AutoProcessor.from_pretrained(path, **kw)
    if getattr(proc, "image_processor", None) is None:
        raise ConfigError(f"{name}: its processor has no image processor; not a vision-language model")
    model = AutoModelForImageTextToText.from_pretrained(
        path, dtype=getattr(torch, dtype), attn_implementation=attn, **kw
    )
    return model, proc


def vl_lm_loss(model, batch: dict, impl: str = "auto", head_chunk_size: int = 1024) -> tuple[torch.Tensor, int, dict]:
    """Next-token cross-entropy summed over assistant tokens of an image+text batch.

    Runs the multimodal trunk (vision tower, projector, decoder) for hidden states [B, T, H]
    and applies the head chunk by chunk with the engine's ``linear_cross_entropy`` (labels
    already shifted per sample by the collator). Under ZeRO-3 the head is called as a module
    (so DeepSpeed gathers its weight) through ``checkpointed_head_cross_entropy``: still no
    [T, V] logits, and every rank makes the same number of head calls."""
    hidden = model.model(**model_inputs(batch), use_cache=False).last_hidden_state  # [B, T, H]
    head = model.get_output_embeddings()
    labels = batch["labels"]  # [B, T]
    if _is_zero3_partitioned(head.weight):
        loss, n = checkpointed_head_cross_entropy(head, hidden, labels, head_chunk_size)
        return loss, n, {}
    loss, n = linear_cross_entropy(hidden, head.weight, labels, bias=getattr(head, "bias", None), impl=impl)
    return loss, n, {}


def plan_fn(lengths: list[int], data: VLDataConfig, seed: int):
    """Per-epoch micro-batch plan: best-fit packs of ``pack_len`` tokens, or fixed batches."""
    from redstar.train.packing import best_fit_pack, fixed_batches

    budget = data.pack_len or data.max_len
    if data.pack and max(lengths) > budget:
        raise ConfigError(f"data.pack_len {budget} is shorter than the longest sample ({max(lengths)} tokens)")

    def plan(epoch: int) -> list[list[int]]:
        if data.pack:
            return best_fit_pack(lengths, budget, seed=seed + epoch)
        return fixed_batches(len(lengths), data.batch_size, seed=seed + epoch)

    return plan


def model_card(cfg, kind: str, stats: dict, params: dict, state: dict) -> str:
    data = "\n".join(f"- `{d}`" for d in cfg.data.train)
    parts = ", ".join(f"{k} {v['trainable']:,}/{v['total']:,}" for k, v in params.items())
    from redstar.release.model_card import render_model_card

    return render_model_card(
        {"base_model": cfg.model, "tags": ["geo", "vision-language", kind]},
        f"""# redstar geo {kind.upper()}

Fine-tuned from `{cfg.model}` with `redstar {kind}` (modality: vision), {"packed" if cfg.data.pack else "padded"}
micro-batches{f" of {cfg.data.pack_len or cfg.data.max_len} tokens" if cfg.data.pack else ""} with per-sample multimodal positions.

## Data
{data}

Rows: {stats["rows"]}, used {stats["rows"] - stats["too_long"] - stats["no_targets"] - stats["bad_images"]}
(bad rows {stats["bad_rows"]}, broken images {stats["bad_images"]}, over max_len {stats["too_long"]});
images {stats["images"]}, tokens {stats["tokens"]}, target tokens {stats["targets"]}.

## Trainable parameters (trainable/total)
{parts}

## Training
{state["step"]} optimizer steps, {state["tokens"]} tokens. Resolved config: `redstar_config.yaml`.
""",
    )


class VLSetUp(NamedTuple):
    dist: Any  # redstar.train.distributed.DistInfo
    attn: str
    model: Any
    proc: Any
    items: Any  # geo.dataset encoded rows
    stats: dict
    groups: list  # optimizer parameter groups, one per trained part
    params: dict

    def trainer_kw(self, cfg, kind: Literal["sft", "dpo"]) -> dict:
        """What both vision-language recipes give the engine (``Trainer``, or ``train_dpo``)
        besides the model, loss and data: the ranks, the processor and config saved with the
        final model, the parameter groups, the data's plan key and the model card."""
        from redstar.train.checkpoint import data_key

        d = cfg.data
        return dict(
            dist=self.dist,
            tokenizer=self.proc,
            run_config=cfg,
            param_groups=self.groups,
            data_key=data_key(d.train, max_len=d.max_len, pack_len=d.pack_len, pack=d.pack, max_pixels=d.max_pixels),
            model_card=lambda state: model_card(cfg, kind, self.stats, self.params, state),
        )


def set_up(cfg, kind: Literal["sft", "preference"]) -> VLSetUp:
    """What both vision-language recipes (SFT, DPO) do before training: the shared recipe
    set-up (``redstar.train.recipe``: seed, devices, attention kernel for the model class, the
    model and processor loaded ZeRO-3 partitioned), then the pixel bounds, the rows encoded
    as ``kind``, and the freezing into parameter groups."""
    from geo.dataset import encode_rows
    from geo.freeze import apply_freeze, count_parameters
    from geo.images import set_processor_pixels
    from redstar.train.recipe import load_for_training, seed_and_devices

    tcfg = cfg.train
    dist = seed_and_devices(tcfg)
    attn, (model, proc) = load_for_training(
        lambda attn, dtype: load_vl_model(cfg.model, attn, cfg.trust_remote_code, seed=tcfg.seed, dtype=dtype),
        tcfg,
        dist,
        cfg.attn_implementation,
        model_class=vl_model_class(cfg.model, cfg.trust_remote_code),
        log=print if dist.is_main else None,
    )
    set_processor_pixels(proc, cfg.data.min_pixels or None, cfg.data.max_pixels or None)
    items, stats = encode_rows(cfg.data, proc, kind, progress=dist.is_main)
    groups = apply_freeze(model, cfg.freeze, tcfg.lr)
    return VLSetUp(dist, attn, model, proc, items, stats, groups, count_parameters(model))


def run(cfg: VLSFTConfig) -> dict:
    from geo.collate import VLCollator
    from redstar.train.engine import PlanLoader, Trainer

    tcfg = cfg.train
    s = set_up(cfg, "sft")
    collate = VLCollator(s.proc, s.model, pack=cfg.data.pack)
    loader = PlanLoader(
        s.items,
        plan_fn(s.items.lengths(), cfg.data, tcfg.seed),
        lambda batch_items: collate([ex for it in batch_items for ex in it]),
    )
    loss_fn = lambda m, b: vl_lm_loss(m, b, impl=cfg.loss_impl)  # noqa: E731
    trainer = Trainer(s.model, loss_fn, loader, tcfg, cfg.out, **s.trainer_kw(cfg, "sft"))
    if s.dist.is_main:
        print(
            f"{s.stats['rows']} rows -> {len(s.items)} samples ({s.stats['images']} images, "
            f"{s.stats['tokens']} tokens); trainable: {s.params}; {trainer.total_steps} steps, attention {s.attn}"
        )
    summary = trainer.train()
    summary["data"] = {k: v for k, v in s.stats.items() if k != "skipped_where"}
    return summary


def sft_rows_from_problems(problems: list[dict], system_prompt: str | None = None) -> list[dict]:
    """GeoQA-shaped Problem rows with a reference ``solution`` -> SFT rows (image first, then
    the question with its choices; the solution as the assistant turn)."""
    from redstar.choices import format_question

    rows = []
    for p in problems:
        if not p.get("solution"):
            continue
        msgs = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + [
            {
                "role": "user",
                "content": "<image>" * len(p["images"]) + "\n" + format_question(p["question"], p.get("choices")),
            },
            {"role": "assistant", "content": p["solution"]},
        ]
        rows.append({"messages": msgs, "images": list(p["images"])})
    return rows


# the command: `redstar sft CONFIG.yaml`; its arguments stand in RECIPES (redstar/cli.py)


def main(args) -> int:
    from redstar.config import config_from_args
    from redstar.rundir import local_model, run_training

    cfg = config_from_args(VLSFTConfig, args)
    if cfg is None:
        return 0
    s = run_training("sft", cfg, run, [*cfg.data.train, *local_model(cfg.model)], getattr(args, "overwrite", False))
    if s is None:
        return 0
    d = s["data"]
    print(
        f"final model: {s['final_dir']} (loss {s['final_loss']:.4f}, {s['step']} steps; rows {d['rows']}, "
        f"broken images skipped {d['bad_images']}, bad rows {d['bad_rows']})"
    )
    return 0

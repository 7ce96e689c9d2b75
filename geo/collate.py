"""Vision-language chat rows -> model inputs with assistant-only labels, padded or packed.

**Encoding** (:func:`encode_chat`): image placeholders are expanded by the model's own
processor (Qwen2-VL: one ``<|image_pad|>`` per merged 28x28 patch; InternVL: 256 context tokens
per tile), so the token count of a row is only known after processing. The reply spans are
found the way the text engine finds them (``redstar.train.tokenize.assistant_spans``: render
the template with and without each reply) and mapped to token positions by processing the
text up to each span boundary with the images it contains, which works for any processor.

**Packing** (:class:`VLCollator`): TRL refuses to pack image rows because Qwen2-VL's rotary
positions are 3-D (temporal, height, width) for image tokens and depend on each image's grid.
Here every sample gets its own multimodal positions from the model's ``get_rope_index`` (as if
it were alone), the per-sample tensors are concatenated, and a fourth row of plain text
positions restarting at 0 per sample is prepended: ``position_ids`` [4, 1, T]. Transformers
reads that first row to build the sample boundaries (block-diagonal mask on SDPA, varlen on
flash-attn); the other three rotate queries and keys. Images are concatenated in sample
order, which is the order their placeholders appear in the pack. Labels are shifted per
sample by ``redstar.train.packing.collate_packed``.

    ex = encode_chat(messages, images, processor, max_len=4096)
    batch = VLCollator(processor, model, pack=True)([ex1, ex2, ex3])
    # input_ids / labels [1, T], position_ids [4, 1, T], pixel_values [P, D], image_grid_thw [n, 3]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import torch

from redstar.config import ConfigError
from redstar.records import RowError
from redstar.train.packing import IGNORE_INDEX, collate_packed, collate_padded
from redstar.train.tokenize import TooLong, assistant_spans

_PLACEHOLDER = re.compile(r"<image>")
# processor outputs that are per-token (padded / concatenated along the sequence)
_TOKEN_KEYS = ("input_ids", "attention_mask", "mm_token_type_ids", "token_type_ids")


def vl_messages(messages: Sequence[dict], n_images: int, where: str | None = None) -> list[dict]:
    """Chat messages with structured image parts, ``{"type": "image"}``, one per image.

    Accepts LLaVA / ShareGPT-style ``<image>`` markers inside string content and structured
    content lists; a row with images but no markers gets them at the start of its first user
    turn (the GeoQA / G-LLaVA layout). The number of markers must equal ``n_images``."""
    out, count = [], 0
    for m in messages:
        content = m["content"]
        if isinstance(content, str):
            parts: list[dict] = []
            pieces = _PLACEHOLDER.split(content)
            for i, piece in enumerate(pieces):
                if i > 0:
                    parts.append({"type": "image"})
                if piece.strip() or (i == len(pieces) - 1 and not parts):
                    parts.append({"type": "text", "text": piece.strip("\n") if i > 0 else piece.rstrip("\n")})
            if len(pieces) == 1:
                parts = content  # keep plain text turns as strings (the template handles both)
        else:
            parts = [dict(p) for p in content]
        if isinstance(parts, list):
            for p in parts:
                if p.get("type") == "image" or "image" in p:
                    p.pop("image", None)
                    p["type"] = "image"
                    count += 1
        out.append({**m, "content": parts})
    if count == 0 and n_images:
        first_user = next((i for i, m in enumerate(out) if m["role"] == "user"), None)
        if first_user is None:
            raise RowError("row has images but no user turn to attach them to", where)
        c = out[first_user]["content"]
        text_parts = [{"type": "text", "text": c}] if isinstance(c, str) else list(c)
        out[first_user] = {**out[first_user], "content": [{"type": "image"}] * n_images + text_parts}
        count = n_images
    if count != n_images:
        raise RowError(f"row has {count} image placeholder(s) but {n_images} image(s)", where)
    return out


def _image_token(processor) -> str:
    tok = getattr(processor, "image_token", None)
    if not tok:
        raise ValueError(f"{type(processor).__name__} has no image_token; not a vision-language processor")
    return tok


def _process(processor, text: str, images: list) -> dict:
    kwargs = {"text": [text], "return_tensors": "pt"}
    if images:
        kwargs["images"] = images
    return processor(**kwargs)


def encode_chat(
    messages: Sequence[dict],
    images: list,
    processor,
    max_len: int | None = None,
    train_on: str = "last",
    system_prompt: str | None = None,
    where: str | None = None,
) -> dict:
    """One conversation + its PIL images -> ``input_ids`` / ``labels`` (lists, unshifted),
    ``mm_token_type_ids`` (list, when the processor gives it) and the image tensors
    (``pixel_values`` [P, D] and ``image_grid_thw`` [n, 3] for Qwen2-VL; whatever the
    processor returns otherwise). Raises ``TooLong`` past ``max_len`` (never truncated: a cut
    image or chain of thought is worse than a dropped row)."""
    msgs = vl_messages(messages, len(images), where)
    if system_prompt and msgs[0]["role"] != "system":
        msgs = [{"role": "system", "content": system_prompt}] + msgs
    text, spans = assistant_spans(msgs, processor, train_on)
    image_token = _image_token(processor)
    full = _process(processor, text, images)
    ids = full["input_ids"][0].tolist()
    if max_len is not None and len(ids) > max_len:
        raise TooLong(f"{len(ids)} tokens > max_len {max_len}")
    labels = [IGNORE_INDEX] * len(ids)
    for a, b in spans:
        bounds = []
        for cut in (a, b):
            prefix = text[:cut]
            n_img = prefix.count(image_token)
            pid = _process(processor, prefix, images[:n_img])["input_ids"][0].tolist()
            if pid != ids[: len(pid)]:
                raise RowError(
                    "the processor tokenises a reply boundary differently from the whole "
                    "conversation; cannot place assistant labels",
                    where,
                )
            bounds.append(len(pid))
        labels[bounds[0] : bounds[1]] = ids[bounds[0] : bounds[1]]
    ex: dict[str, Any] = {"input_ids": ids, "labels": labels}
    if "mm_token_type_ids" in full:
        ex["mm_token_type_ids"] = full["mm_token_type_ids"][0].tolist()
    for k, v in full.items():
        if k not in _TOKEN_KEYS and torch.is_tensor(v):
            ex[k] = v  # pixel_values [P, D], image_grid_thw [n, 3], ...
    return ex


# transformers 5.3.0 ("Unify 3D position ids", huggingface/transformers#43972) made the Qwen2-VL
# processors return mm_token_type_ids (text 0, image 1, video 2) and get_rope_index read them;
# 4.57 gives neither, and packed positions could only be guessed. pyproject requires >= 5.3.
MIN_TRANSFORMERS = "5.3"


def _needs_newer_transformers(what: str) -> ConfigError:
    import transformers

    return ConfigError(
        f"packed Qwen2-VL training needs transformers >= {MIN_TRANSFORMERS} ({what}); found "
        f"{transformers.__version__}: pip install 'transformers>={MIN_TRANSFORMERS},<6'"
    )


def rope_index_fn(model):
    """The model's multimodal rotary index (Qwen2-VL family), or None for 1-D rotary models
    (InternVL, LLaVA), where packed positions are just 0..n-1 per sample. A ``get_rope_index``
    that does not take ``mm_token_type_ids`` (transformers < 5.3) is refused: packed samples
    would lose their image positions."""
    import inspect

    inner = getattr(model, "model", model)
    fn = getattr(inner, "get_rope_index", None)
    if fn is not None and "mm_token_type_ids" not in inspect.signature(fn).parameters:
        raise _needs_newer_transformers("its get_rope_index takes no mm_token_type_ids")
    return fn


def sample_positions(ex: dict, rope_fn) -> torch.Tensor:
    """[3, 1, n] multimodal positions of one sample as if it were alone. A text-only sample's
    are 0..n-1 on all three axes (what get_rope_index gives text); a sample with images must
    carry the processor's ``mm_token_type_ids``, or this raises rather than fall back to
    text positions for its image tokens."""
    ids = torch.tensor([ex["input_ids"]])  # [1, n]
    n = ids.shape[1]
    if "image_grid_thw" not in ex:
        return torch.arange(n).view(1, 1, -1).expand(3, 1, -1)
    if "mm_token_type_ids" not in ex:
        raise _needs_newer_transformers("the processor gave no mm_token_type_ids for a sample with images")
    mm = torch.tensor([ex["mm_token_type_ids"]])
    pos, _ = rope_fn(ids, mm_token_type_ids=mm, image_grid_thw=ex["image_grid_thw"])
    return pos  # [3, 1, n]


def _cat_images(samples: Sequence[dict]) -> dict:
    keys = sorted(
        {
            k
            for s in samples
            for k in s
            if k not in ("input_ids", "labels", "mm_token_type_ids") and torch.is_tensor(s[k])
        }
    )
    return {k: torch.cat([s[k] for s in samples if k in s], dim=0) for k in keys}


class VLCollator:
    """Micro-batches of encoded samples. ``pack=True``: one packed row with per-sample
    multimodal positions (see the module notes); ``pack=False``: right-padded rows with an
    attention mask, the model computing positions itself (the reference for the tests)."""

    def __init__(self, processor, model=None, pack: bool = True):
        tok = getattr(processor, "tokenizer", processor)
        self.pad_id = tok.pad_token_id if tok.pad_token_id is not None else 0
        self.pack = pack
        self.rope_fn = rope_index_fn(model) if model is not None else None

    def __call__(self, samples: Sequence[dict]) -> dict:
        samples = [s for s in samples if len(s["input_ids"])]
        if self.pack:
            batch = collate_packed(samples, pad_token_id=self.pad_id)  # [1, T] each
            if self.rope_fn is not None:
                mrope = torch.cat([sample_positions(s, self.rope_fn) for s in samples], dim=2)  # [3, 1, T]
                batch["position_ids"] = torch.cat([batch["position_ids"][None], mrope], dim=0)  # [4, 1, T]
            if any("mm_token_type_ids" in s for s in samples):
                batch["mm_token_type_ids"] = torch.tensor(
                    [[t for s in samples for t in s.get("mm_token_type_ids", [0] * len(s["input_ids"]))]]
                )
        else:
            batch = collate_padded(samples, pad_token_id=self.pad_id)  # [B, T] each
            if any("mm_token_type_ids" in s for s in samples):
                mm = torch.zeros_like(batch["input_ids"])
                for r, s in enumerate(samples):
                    if "mm_token_type_ids" in s:
                        mm[r, : len(s["mm_token_type_ids"])] = torch.tensor(s["mm_token_type_ids"])
                batch["mm_token_type_ids"] = mm
        batch.update(_cat_images(samples))
        batch["num_samples"] = len(samples)
        return batch


def model_inputs(batch: dict) -> dict:
    """The keys of a collated batch the model's forward takes (not labels or bookkeeping)."""
    skip = {"labels", "num_targets", "cu_seqlens", "max_seqlen", "num_samples", "ref_logps"}
    return {k: v for k, v in batch.items() if k not in skip}


def sample_index(batch: dict) -> torch.Tensor:
    """[B, T] index of the sample each token belongs to (-1 for padding), for per-sample sums
    (DPO log-probabilities): packed rows from ``cu_seqlens``, padded rows from the mask."""
    if "cu_seqlens" in batch:
        cu = batch["cu_seqlens"].tolist()
        idx = torch.full(batch["input_ids"].shape, -1, dtype=torch.long)
        for i, (a, b) in enumerate(zip(cu, cu[1:])):
            idx[0, a:b] = i
        if batch.get("num_samples") is not None:
            idx[idx >= batch["num_samples"]] = -1  # a pad_to tail
        return idx
    B, T = batch["input_ids"].shape
    idx = torch.arange(B).view(B, 1).expand(B, T).clone()
    idx[batch["attention_mask"] == 0] = -1
    return idx

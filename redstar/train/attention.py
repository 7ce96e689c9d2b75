"""Which attention kernel a packed batch runs on, and why it never crosses samples.

Packed rows carry ``position_ids`` that restart at 0 for every sample and no
``attention_mask``. Transformers turns that into sample boundaries for every backend:

- ``flash_attention_2`` (the ``flash-attn`` package, CUDA): cu_seqlens from the position ids,
  the varlen kernel; cost proportional to the sum of squared sample lengths;
- ``flex_attention`` (PyTorch, CUDA): a BlockMask with a document mask; fully masked tiles
  are skipped, so the cost is again ~ sum of squared lengths (at 128-token tile granularity);
- ``sdpa`` / ``eager`` (anywhere, the CPU default): a dense block-diagonal causal mask;
  correct, but the work is the squared pack length, so it is the fallback, not the choice.

``choose_attention`` picks the best available one; a test checks that a packed batch gives the
same per-token loss and gradients as the samples run one by one on the chosen backend.
"""

from __future__ import annotations

import importlib.util


def has_flash_attn() -> bool:
    return importlib.util.find_spec("flash_attn") is not None


def choose_attention(requested: str = "auto", device: str = "cpu", model_cls=None, log=None) -> str:
    """``requested`` one of auto | flash_attention_2 | flex_attention | sdpa | eager.

    ``auto`` on a GPU takes the fastest kernel the model class supports (its
    ``_supports_flash_attn`` / ``_supports_flex_attn`` / ``_supports_sdpa`` flags: Qwen2-VL and
    Qwen2.5-VL, for one, have no flex attention): flash-attn when installed, then flex, then
    SDPA, then eager; without a class, flash-attn or flex. On the CPU: SDPA where supported.
    ``log(message)`` is told what was chosen and why."""
    name = getattr(model_cls, "__name__", "the model")

    def supports(kind: str) -> bool:
        if model_cls is None:
            return True
        if kind == "flash_attention_2":
            return bool(
                getattr(model_cls, "_supports_flash_attn", False) or getattr(model_cls, "_supports_flash_attn_2", False)
            )
        return bool(
            getattr(model_cls, {"flex_attention": "_supports_flex_attn", "sdpa": "_supports_sdpa"}[kind], False)
        )

    if requested != "auto":
        if requested == "flash_attention_2" and not has_flash_attn():
            raise ValueError(
                "attn_implementation 'flash_attention_2' needs the flash-attn package "
                "(pip install flash-attn); use 'auto' to fall back"
            )
        if requested != "eager" and not supports(requested):
            raise ValueError(f"attn_implementation {requested!r}: {name} does not support it; use 'auto'")
        impl, why = requested, "as configured"
    elif str(device).startswith("cuda"):
        impl, why = "eager", f"{name} supports none of flash-attn, flex or SDPA"
        for kind, ok in (("flash_attention_2", has_flash_attn()), ("flex_attention", True), ("sdpa", True)):
            if ok and supports(kind):
                impl = kind
                skipped = (
                    []
                    if kind == "flash_attention_2"
                    else ["flash-attn " + ("not installed" if not has_flash_attn() else f"not supported by {name}")]
                )
                if kind == "sdpa":
                    skipped.append(f"flex attention not supported by {name}")
                why = "auto on a GPU" + (f" ({'; '.join(skipped)})" if skipped else "")
                break
    else:
        impl = "sdpa" if supports("sdpa") else "eager"
        why = "auto on the CPU"
    if log is not None:
        log(f"attention: {impl} ({why})")
    return impl


def set_attention(model, impl: str) -> str:
    """Switch an already built model to ``impl`` (transformers >= 5 supports this in place)."""
    if hasattr(model, "set_attn_implementation"):
        model.set_attn_implementation(impl)
    else:  # older transformers
        model.config._attn_implementation = impl
    return impl

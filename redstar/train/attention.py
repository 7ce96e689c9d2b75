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


def choose_attention(requested: str = "auto", device: str = "cpu") -> str:
    """``requested`` one of auto | flash_attention_2 | flex_attention | sdpa | eager."""
    if requested != "auto":
        if requested == "flash_attention_2" and not has_flash_attn():
            raise ValueError("attn_implementation 'flash_attention_2' needs the flash-attn package "
                             "(pip install flash-attn); use 'auto' to fall back")
        return requested
    if str(device).startswith("cuda"):
        if has_flash_attn():
            return "flash_attention_2"
        return "flex_attention"
    return "sdpa"


def set_attention(model, impl: str) -> str:
    """Switch an already built model to ``impl`` (transformers >= 5 supports this in place)."""
    if hasattr(model, "set_attn_implementation"):
        model.set_attn_implementation(impl)
    else:  # older transformers
        model.config._attn_implementation = impl
    return impl

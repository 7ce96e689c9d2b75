"""What the benchmark scripts share: "median (min-max)" of repeated measurements, the engine's
settings for a timed run, and Qwen2 models of given shapes with random weights (throughput and
memory do not depend on the weights, so nothing is downloaded).

The scripts put the repository root on ``sys.path`` and import this as ``bench.common``.
"""

from __future__ import annotations

import statistics
from collections import namedtuple

# The sizes of a Qwen2 language model (the fields of its config.json they fill).
Qwen2Shape = namedtuple(
    "Qwen2Shape", "vocab_size hidden_size intermediate_size num_hidden_layers num_attention_heads num_key_value_heads"
)
# published configurations (config.json of each model); Qwen2-VL-2B's language model is Qwen2-1.5B's
QWEN2_SHAPES = {
    "qwen2.5-0.5b": Qwen2Shape(151936, 896, 4864, 24, 14, 2),
    "qwen2.5-1.5b": Qwen2Shape(151936, 1536, 8960, 28, 12, 2),
    "qwen2-vl-2b": Qwen2Shape(151936, 1536, 8960, 28, 12, 2),
}
# what the Qwen2.5 models publish besides their sizes
QWEN25_REST = dict(max_position_embeddings=32768, rope_theta=1000000.0, tie_word_embeddings=True, rms_norm_eps=1e-6)


def mmm(xs, fmt: str = "{:.0f}") -> str:
    """'median (min-max)' of some numbers, each written with ``fmt``."""
    xs = list(xs)
    return f"{fmt.format(statistics.median(xs))} ({fmt.format(min(xs))}-{fmt.format(max(xs))})"


def timed_run_config(**settings):
    """The engine's ``TrainConfig`` for a timed run: no progress bar, no TensorBoard, no warm-up
    of the learning rate; ``settings`` give the rest."""
    from redstar.train.engine import TrainConfig

    return TrainConfig(**{"progress": False, "tensorboard": False, "warmup_ratio": 0.0, **settings})


def random_qwen2(cfg: dict, attn: str | None = None, device: str = "cpu", dtype=None):
    """A ``Qwen2ForCausalLM`` with the configuration ``cfg`` and random weights (seed 0), built on
    ``device``; cast to ``dtype`` and switched to the attention kernel ``attn`` where given."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen2ForCausalLM(Qwen2Config(**cfg))
    if dtype is not None:
        model.to(dtype)
    if attn is not None:
        model.set_attn_implementation(attn)
    return model

"""Shared pieces of the small training runs in the tests: random token samples and the
`train:` settings every tiny CPU run starts from."""

import torch


def token_samples(n: int, first_len: int, step: int, seed: int, prompt_len: int = 3) -> list[dict]:
    """``n`` samples of random token ids (10-399), the k-th ``first_len + step * k`` long; the
    first ``prompt_len`` tokens carry no loss."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for k in range(n):
        ids = torch.randint(10, 400, (first_len + step * k,), generator=g).tolist()
        out.append({"input_ids": ids, "labels": [-100] * prompt_len + ids[prompt_len:]})
    return out


def quiet_train(**settings) -> dict:
    """TrainConfig fields of a tiny test run: float32, no warm-up, no gradient checkpointing, no
    tensorboard or progress bar; ``settings`` add to or override them."""
    return {
        "dtype": "float32",
        "gradient_checkpointing": False,
        "warmup_ratio": 0.0,
        "tensorboard": False,
        "progress": False,
        **settings,
    }

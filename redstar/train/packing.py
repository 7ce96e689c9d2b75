"""Packing variable-length samples into fixed token budgets, with per-sample boundaries.

Long-CoT samples range from a few hundred to 32k tokens; padding each batch to its longest
sample wastes most of the compute. Here samples are concatenated into one row of at most
``budget`` tokens (best-fit decreasing: efficiency >= 0.97 on log-normal lengths), and each
sample keeps its own identity inside the pack:

- ``position_ids`` restart at 0 for every sample, so RoPE sees each sample as if alone, and
  transformers' attention (flash-attn varlen, flex attention with a document mask, or SDPA
  with a block-diagonal mask) derives the sample boundaries from them: no token attends
  across samples;
- ``labels`` are shifted *per sample* here (labels[t] = the token at t+1 of the same sample,
  -100 at each sample's last token), so the loss never predicts the next sample's first token
  from the previous sample's last one;
- ``cu_seqlens`` / ``max_seqlen`` are returned for kernels that want them directly.

    plan = best_fit_pack(lengths, budget=8192)          # list of lists of sample indices
    batch = collate_packed([samples[i] for i in plan[0]])  # dict of [1, T] tensors
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence

IGNORE_INDEX = -100


def best_fit_pack(lengths: Sequence[int], budget: int, seed: int | None = None) -> list[list[int]]:
    """Best-fit decreasing bin packing: each sample (longest first) goes into the open pack
    whose free space is the smallest that still fits it. Returns packs of sample indices.

    With ``seed`` the order of the packs is shuffled (the content of each pack is fixed by the
    lengths), so epochs differ while every sample is used exactly once. A sample longer than
    the budget is an error: the caller decides whether to drop or truncate it beforehand.
    """
    if budget <= 0:
        raise ValueError(f"pack budget must be positive, got {budget}")
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    packs: list[list[int]] = []
    # free space of each open pack, kept sorted as (free, pack_index) for bisect
    free: list[tuple[int, int]] = []
    for i in order:
        n = int(lengths[i])
        if n > budget:
            raise ValueError(f"sample {i} has {n} tokens, more than the pack budget {budget}")
        if n <= 0:
            continue
        pos = bisect.bisect_left(free, (n, -1))
        if pos < len(free):
            space, p = free.pop(pos)
            packs[p].append(i)
            space -= n
        else:
            packs.append([i])
            p, space = len(packs) - 1, budget - n
        if space > 0:
            bisect.insort(free, (space, p))
    if seed is not None:
        random.Random(seed).shuffle(packs)
    return packs


def fixed_batches(n: int, batch_size: int, seed: int | None = None) -> list[list[int]]:
    """Plain fixed-size batches of indices (for pairwise data such as DPO), shuffled by seed."""
    idx = list(range(n))
    if seed is not None:
        random.Random(seed).shuffle(idx)
    return [idx[i : i + batch_size] for i in range(0, n, batch_size)]


def packing_efficiency(lengths: Sequence[int], packs: list[list[int]], budget: int) -> float:
    """Real tokens / computed tokens, each pack computed at the full budget."""
    real = sum(int(lengths[i]) for p in packs for i in p)
    return real / (len(packs) * budget) if packs else 0.0


def attention_cost(lengths: Sequence[int], packs: list[list[int]]) -> tuple[int, int]:
    """(sum of squared sample lengths, sum of squared pack lengths): the attention work with a
    document mask versus attending over whole packs."""
    per_sample = sum(int(lengths[i]) ** 2 for p in packs for i in p)
    per_pack = sum(sum(int(lengths[i]) for i in p) ** 2 for p in packs)
    return per_sample, per_pack


def shift_labels(labels: Sequence[int]) -> list[int]:
    """Next-token targets for one sample: out[t] = labels[t + 1], and -100 at the last token."""
    return list(labels[1:]) + [IGNORE_INDEX]


def collate_packed(samples: Sequence[dict], pad_to: int | None = None, pad_token_id: int = 0) -> dict:
    """Concatenate tokenised samples (``input_ids``, ``labels`` unshifted, aligned with the
    input) into one packed row.

    Returns ``input_ids``, ``labels`` (already shifted per sample), ``position_ids`` (each
    [1, T]), ``cu_seqlens`` (int32 [n_samples + 1]), ``max_seqlen`` (int) and
    ``num_targets`` (int: tokens with a label). ``pad_to`` appends one padding "sample" with
    no targets so every pack has the same length (static shapes for compiled kernels).
    """
    import torch

    ids: list[int] = []
    labels: list[int] = []
    pos: list[int] = []
    cu = [0]
    for s in samples:
        n = len(s["input_ids"])
        if n == 0:
            continue
        ids.extend(int(t) for t in s["input_ids"])
        labels.extend(shift_labels([int(t) for t in s["labels"]]))
        pos.extend(range(n))
        cu.append(cu[-1] + n)
    if pad_to is not None and cu[-1] < pad_to:
        pad = pad_to - cu[-1]
        ids.extend([pad_token_id] * pad)
        labels.extend([IGNORE_INDEX] * pad)
        pos.extend(range(pad))
        cu.append(pad_to)
    lens = [b - a for a, b in zip(cu, cu[1:])]
    lab = torch.tensor([labels], dtype=torch.long)
    return {
        "input_ids": torch.tensor([ids], dtype=torch.long),  # [1, T]
        "labels": lab,  # [1, T], shifted
        "position_ids": torch.tensor([pos], dtype=torch.long),  # [1, T], restart per sample
        "cu_seqlens": torch.tensor(cu, dtype=torch.int32),  # [n + 1]
        "max_seqlen": max(lens) if lens else 0,
        "num_targets": int((lab != IGNORE_INDEX).sum()),
    }


def collate_padded(samples: Sequence[dict], pad_token_id: int = 0) -> dict:
    """The padded alternative (one row per sample, right padding), labels shifted the same
    way; used for the reference in tests and for recipes that need one row per sample."""
    import torch

    T = max(len(s["input_ids"]) for s in samples)
    ids = torch.full((len(samples), T), pad_token_id, dtype=torch.long)
    labels = torch.full((len(samples), T), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(samples), T), dtype=torch.long)
    for r, s in enumerate(samples):
        n = len(s["input_ids"])
        ids[r, :n] = torch.tensor(s["input_ids"])
        labels[r, :n] = torch.tensor(shift_labels(list(s["labels"])))
        mask[r, :n] = 1
    return {
        "input_ids": ids,
        "labels": labels,
        "attention_mask": mask,
        "num_targets": int((labels != IGNORE_INDEX).sum()),
    }

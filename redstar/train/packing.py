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
    The same packs as :func:`pack_arrays` (which this wraps), as lists.
    """
    members, offsets = pack_arrays(lengths, budget)
    packs = [members[a:b].tolist() for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]
    if seed is not None:
        random.Random(seed).shuffle(packs)
    return packs


def pack_arrays(lengths: Sequence[int], budget: int):
    """Best-fit decreasing packs as two arrays: pack ``k`` is
    ``members[offsets[k]:offsets[k + 1]]`` (int32 sample indices, longest first), for a plan of
    a million samples in a few MB instead of a list per pack.

    Ties go as in the textbook version that keeps ``(free, pack)`` pairs sorted (the smallest
    free space that fits, then the oldest pack), but the sorted list holds each distinct free
    space once, with a heap of the packs that have it: at most ``budget`` entries, so a
    million samples pack in seconds. Zero-length samples are left out."""
    import heapq

    import numpy as np

    if budget <= 0:
        raise ValueError(f"pack budget must be positive, got {budget}")
    lens = np.asarray(lengths, dtype=np.int64).reshape(-1)
    if lens.size and int(lens.max()) > budget:
        i = int(np.argmax(lens > budget))
        raise ValueError(f"sample {i} has {int(lens[i])} tokens, more than the pack budget {budget}")
    order = np.lexsort((np.arange(lens.size), -lens))  # longest first, then by index
    order = order[lens[order] > 0]
    pack_of = np.empty(lens.size, dtype=np.int64)
    spaces: list[int] = []  # sorted distinct free spaces of open packs
    holders: dict[int, list[int]] = {}  # free space -> heap of pack indices with it
    n_packs = 0
    for i, n in (pair for a in range(0, order.size, 1 << 16) for pair in _block(order, lens, a, 1 << 16)):
        pos = bisect.bisect_left(spaces, n)
        if pos < len(spaces):
            space = spaces[pos]
            heap = holders[space]
            p = heapq.heappop(heap)
            if not heap:
                del holders[space]
                spaces.pop(pos)
            space -= n
        else:
            p, space = n_packs, budget - n
            n_packs += 1
        pack_of[i] = p
        if space > 0:
            if space in holders:
                heapq.heappush(holders[space], p)
            else:
                holders[space] = [p]
                bisect.insort(spaces, space)
    members = order[np.argsort(pack_of[order], kind="stable")].astype(np.int32)
    offsets = np.zeros(n_packs + 1, dtype=np.int64)
    np.cumsum(np.bincount(pack_of[order], minlength=n_packs), out=offsets[1:])
    return members, offsets


def _block(order, lens, start: int, size: int):
    """(sample, length) pairs of one block of ``order`` as Python ints: a million samples are
    walked without a million-element list of each."""
    block = order[start : start + size]
    return zip(block.tolist(), lens[block].tolist())


class PackPlan:
    """One epoch's micro-batches as arrays (see :func:`pack_arrays`): ``plan[k]`` is the list of
    sample indices of pack ``perm[k]``. Slicing gives a plan over a slice of ``perm``, so a rank
    keeps its share (``plan[:usable][rank::world]``) without materialising anyone's packs.
    With ``seed`` the pack order is the one ``best_fit_pack(..., seed)`` gives."""

    def __init__(self, members, offsets, seed: int | None = None, perm=None):
        import numpy as np

        self.members, self.offsets = members, offsets
        if perm is None:
            order = list(range(len(offsets) - 1))
            if seed is not None:
                random.Random(seed).shuffle(order)
            perm = np.asarray(order, dtype=np.int64)
        self.perm = perm

    def __len__(self) -> int:
        return len(self.perm)

    def __getitem__(self, k):
        if isinstance(k, slice):
            return PackPlan(self.members, self.offsets, perm=self.perm[k])
        p = int(self.perm[k])
        return self.members[int(self.offsets[p]) : int(self.offsets[p + 1])].tolist()

    def __iter__(self):
        return (self[k] for k in range(len(self)))

    def digest(self) -> str:
        """A hash of the packs and their order (the checkpoint's plan key)."""
        import hashlib

        import numpy as np

        h = hashlib.sha256()
        for a in (self.members, self.offsets, self.perm):
            h.update(np.ascontiguousarray(a, dtype=np.int64).tobytes())
        return h.hexdigest()[:16]


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


def collate_packed(
    samples: Sequence[dict], pad_to: int | None = None, pad_token_id: int = 0, pack_len: int | None = None
) -> dict:
    """Concatenate tokenised samples (``input_ids``, ``labels`` unshifted, aligned with the
    input) into one packed row.

    Returns ``input_ids``, ``labels`` (already shifted per sample), ``position_ids`` (each
    [1, T]), ``cu_seqlens`` (int32 [n_samples + 1]), ``max_seqlen`` (int) and
    ``num_targets`` (int: tokens with a label). ``pad_to`` appends one padding "sample" with
    no targets so every pack has the same length (static shapes for compiled kernels).
    ``pack_len`` (the plan's token budget) is passed on as ``batch["pack_len"]``: the loss
    splits the LM head into a number of chunks derived from it, the same for every micro-batch
    (``loss.head_chunks``), which DeepSpeed ZeRO-3's module trace needs.
    """
    import numpy as np
    import torch

    ids, labels, lens = [], [], []
    for s in samples:
        x = np.asarray(s["input_ids"], dtype=np.int64).reshape(-1)
        if x.size == 0:
            continue
        y = np.empty_like(x)  # shifted within the sample: y[t] = label[t + 1], -100 at the end
        y[:-1] = np.asarray(s["labels"], dtype=np.int64).reshape(-1)[1:]
        y[-1] = IGNORE_INDEX
        ids.append(x)
        labels.append(y)
        lens.append(x.size)
    total = sum(lens)
    if pad_to is not None and total < pad_to:
        pad = pad_to - total
        ids.append(np.full(pad, pad_token_id, dtype=np.int64))
        labels.append(np.full(pad, IGNORE_INDEX, dtype=np.int64))
        lens.append(pad)
    ids_t = torch.from_numpy(np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64))[None]
    lab = torch.from_numpy(np.concatenate(labels) if labels else np.zeros(0, dtype=np.int64))[None]
    pos = torch.cat([torch.arange(n) for n in lens])[None] if lens else torch.zeros((1, 0), dtype=torch.long)
    cu = torch.zeros(len(lens) + 1, dtype=torch.int32)
    if lens:
        cu[1:] = torch.tensor(lens, dtype=torch.int64).cumsum(0).to(torch.int32)
    return {
        "input_ids": ids_t,  # [1, T]
        "labels": lab,  # [1, T], shifted
        "position_ids": pos,  # [1, T], restart per sample
        "cu_seqlens": cu,  # [n + 1]
        "max_seqlen": max(lens) if lens else 0,
        "num_targets": int((lab != IGNORE_INDEX).sum()),
        **({"pack_len": int(pack_len)} if pack_len else {}),
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

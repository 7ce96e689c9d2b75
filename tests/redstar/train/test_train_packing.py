"""Packing: every sample used once within budget, high efficiency on long-CoT lengths, and a
packed micro-batch gives the same per-token loss and gradients as the samples run alone."""

import random

import pytest
import torch

from redstar.models import tiny_causal_lm
from redstar.train.packing import IGNORE_INDEX, attention_cost, best_fit_pack, collate_packed, packing_efficiency


def lognormal_lengths(n, seed=0, median=1500, lo=128, hi=8192):
    rng = random.Random(seed)
    return [int(min(hi, max(lo, rng.lognormvariate(0, 0.8) * median))) for _ in range(n)]


def test_best_fit_uses_every_sample_once_within_budget():
    lengths = lognormal_lengths(2000)
    packs = best_fit_pack(lengths, 16384, seed=3)
    flat = sorted(i for p in packs for i in p)
    assert flat == list(range(len(lengths)))
    assert all(sum(lengths[i] for i in p) <= 16384 for p in packs)
    assert packing_efficiency(lengths, packs, 16384) >= 0.97
    # a different seed reorders packs, never their content
    again = best_fit_pack(lengths, 16384, seed=4)
    assert sorted(map(sorted, packs)) == sorted(map(sorted, again)) and packs != again
    per_sample, per_pack = attention_cost(lengths, packs)
    assert per_sample < per_pack / 4


def test_sample_over_budget_is_an_error():
    with pytest.raises(ValueError, match="sample 1 has 900 tokens"):
        best_fit_pack([10, 900], 512)


def test_collate_restarts_positions_and_shifts_labels_per_sample():
    samples = [{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]}, {"input_ids": [8, 9], "labels": [8, 9]}]
    b = collate_packed(samples, pad_to=8, pad_token_id=0)
    assert b["input_ids"].tolist() == [[5, 6, 7, 8, 9, 0, 0, 0]]
    assert b["position_ids"].tolist() == [[0, 1, 2, 0, 1, 0, 1, 2]]
    # no target crosses from sample 1's last token to sample 2's first
    assert b["labels"].tolist() == [[6, 7, IGNORE_INDEX, 9, IGNORE_INDEX] + [IGNORE_INDEX] * 3]
    assert b["cu_seqlens"].tolist() == [0, 3, 5, 8] and b["max_seqlen"] == 3 and b["num_targets"] == 3


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_packed_equals_one_by_one(attn):
    model, _ = tiny_causal_lm(seed=1)
    model.set_attn_implementation(attn)
    model.to(torch.float64)
    g = torch.Generator().manual_seed(0)
    samples = []
    for n in (9, 17, 5, 12):
        ids = torch.randint(10, 400, (n,), generator=g).tolist()
        labels = [IGNORE_INDEX] * (n // 3) + ids[n // 3 :]  # prompt tokens carry no loss
        samples.append({"input_ids": ids, "labels": labels})

    def per_token(logits, labels):
        return torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=IGNORE_INDEX, reduction="none"
        )

    # reference: each sample alone, next-token loss, gradients summed
    ref_losses = []
    for s in samples:
        b = collate_packed([s])
        ref_losses.append(per_token(model(input_ids=b["input_ids"]).logits, b["labels"]))
    torch.stack([l.sum() for l in ref_losses]).sum().backward()
    ref_grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()

    b = collate_packed(samples)
    packed = per_token(
        model(input_ids=b["input_ids"], position_ids=b["position_ids"], use_cache=False).logits, b["labels"]
    )
    packed.sum().backward()
    torch.testing.assert_close(packed, torch.cat(ref_losses), rtol=1e-7, atol=1e-7)
    for n, p in model.named_parameters():
        scale = ref_grads[n].abs().max().item()
        assert (p.grad - ref_grads[n]).abs().max().item() <= 1e-6 * scale + 1e-10, n


def test_packing_without_positions_would_differ():
    """The check above can fail: without restarting positions the packed loss differs."""
    model, _ = tiny_causal_lm(seed=1)
    model.to(torch.float64)
    samples = [
        {"input_ids": list(range(20, 31)), "labels": list(range(20, 31))},
        {"input_ids": list(range(40, 47)), "labels": list(range(40, 47))},
    ]
    b = collate_packed(samples)
    good = model(input_ids=b["input_ids"], position_ids=b["position_ids"], use_cache=False).logits
    bad = model(input_ids=b["input_ids"]).logits
    assert not torch.allclose(good[0, 11:], bad[0, 11:])


@pytest.mark.gpu
@pytest.mark.parametrize("attn", ["flex_attention", "sdpa"])
def test_packed_equals_one_by_one_on_gpu(attn):
    model, _ = tiny_causal_lm(seed=1)
    model.set_attn_implementation(attn)
    model.to("cuda", torch.float32)
    samples = [
        {"input_ids": list(range(10 + k, 10 + k + n)), "labels": list(range(10 + k, 10 + k + n))}
        for k, n in ((0, 130), (5, 300), (9, 77))
    ]
    b = {k: (v.cuda() if torch.is_tensor(v) else v) for k, v in collate_packed(samples).items()}
    packed = model(input_ids=b["input_ids"], position_ids=b["position_ids"], use_cache=False).logits[0]
    alone = torch.cat([model(input_ids=torch.tensor([s["input_ids"]], device="cuda")).logits[0] for s in samples])
    torch.testing.assert_close(packed, alone, rtol=2e-3, atol=2e-3)


def test_pack_plan_arrays_give_the_same_packs_and_order_as_the_lists():
    from redstar.train.packing import PackPlan, pack_arrays

    lengths = lognormal_lengths(3000, seed=5, median=300, hi=4096) + [0, 0]  # empty samples are left out
    members, offsets = pack_arrays(lengths, 4096)
    for seed in (None, 7):
        plan = PackPlan(members, offsets, seed=seed)
        assert list(plan) == best_fit_pack(lengths, 4096, seed=seed)
        # a rank's share is a slice of the same plan, never a copy of everyone's packs
        assert list(plan[: len(plan) - 1][1::2]) == best_fit_pack(lengths, 4096, seed=seed)[: len(plan) - 1][1::2]
    assert PackPlan(members, offsets, seed=1).digest() != PackPlan(members, offsets, seed=2).digest()
    with pytest.raises(ValueError, match="sample 2 has 5000 tokens"):
        pack_arrays([10, 20, 5000], 4096)


def test_collate_takes_numpy_samples_like_lists():
    import numpy as np

    samples = [{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]}, {"input_ids": [8, 9], "labels": [8, 9]}]
    as_arrays = [{k: np.asarray(v, dtype=np.int32) for k, v in s.items()} for s in samples]
    a, b = collate_packed(samples, pad_to=8), collate_packed(as_arrays, pad_to=8)
    for k in ("input_ids", "labels", "position_ids", "cu_seqlens"):
        assert torch.equal(a[k], b[k]) and a[k].dtype == b[k].dtype
    assert a["num_targets"] == b["num_targets"] == 3

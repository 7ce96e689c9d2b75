"""Reward-model losses against direct computations written another way."""

import math

import pytest
import torch

from redstar.rm.losses import (
    bce,
    get_loss,
    listwise_bt,
    mse,
    pairwise_bt,
    ranking_metrics,
)


def _direct_listwise(scores, labels, valid):
    """AceMath's formula, one group and one pair at a time, in plain Python floats."""
    total, groups = 0.0, 0
    for g in range(len(scores)):
        pos = [scores[g][i] for i in range(len(scores[g])) if valid[g][i] and labels[g][i]]
        neg = [scores[g][j] for j in range(len(scores[g])) if valid[g][j] and not labels[g][j]]
        if not pos or not neg:
            continue
        s = sum(math.log(1.0 / (1.0 + math.exp(-(p - q)))) for p in pos for q in neg)
        total += -s / (len(pos) * len(neg))
        groups += 1
    return total, groups


def _random_batch(seed, G=5, n=6):
    gen = torch.Generator().manual_seed(seed)
    scores = torch.randn(G, n, generator=gen) * 3
    labels = torch.rand(G, n, generator=gen) < 0.5
    valid = torch.rand(G, n, generator=gen) < 0.85
    labels[0], valid[0] = torch.tensor([1, 0, 1, 0, 0, 0]).bool(), True  # k=2 of 6, all valid
    labels[1], valid[1] = True, True  # all correct: no pairs, must not count
    return scores, labels, valid


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_listwise_bt_equals_loop_over_pairs(seed):
    scores, labels, valid = _random_batch(seed)
    loss_sum, count = listwise_bt(scores, labels, valid)
    ref_sum, ref_count = _direct_listwise(scores.tolist(), labels.tolist(), valid.tolist())
    assert count == ref_count
    assert loss_sum.item() == pytest.approx(ref_sum, rel=1e-5)


def test_listwise_bt_group_weights_differ_from_pairwise():
    # group 0: k=1 of 2 (1 pair); group 1: k=1 of 4 (3 pairs). Listwise weighs groups equally.
    scores = torch.tensor([[2.0, 0.0, 0.0, 0.0], [0.5, 1.0, -1.0, 3.0]])
    labels = torch.tensor([[1, 0, 0, 0], [1, 0, 0, 0]]).bool()
    valid = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]]).bool()
    pairs = [(2.0, 0.0), (0.5, 1.0), (0.5, -1.0), (0.5, 3.0)]
    nll = [-math.log(1 / (1 + math.exp(-(p - q)))) for p, q in pairs]
    lw_sum, lw_n = listwise_bt(scores, labels, valid)
    pw_sum, pw_n = pairwise_bt(scores, labels, valid)
    assert (lw_n, pw_n) == (2, 4)
    assert (lw_sum / lw_n).item() == pytest.approx((nll[0] + sum(nll[1:]) / 3) / 2, rel=1e-6)
    assert (pw_sum / pw_n).item() == pytest.approx(sum(nll) / 4, rel=1e-6)


def test_pointwise_losses_and_gradients():
    scores = torch.tensor([[0.3, -1.2, 2.0]], requires_grad=True)
    labels = torch.tensor([[1, 0, 1]]).bool()
    valid = torch.tensor([[1, 1, 0]]).bool()
    s, n = bce(scores, labels, valid)
    ref = -math.log(1 / (1 + math.exp(-0.3))) - math.log(1 - 1 / (1 + math.exp(1.2)))
    assert n == 2 and s.item() == pytest.approx(ref, rel=1e-6)
    s2, n2 = mse(scores, labels, valid)
    assert n2 == 2 and s2.item() == pytest.approx((0.3 - 1) ** 2 + 1.2**2, rel=1e-6)
    s.backward()
    assert scores.grad[0, 2] == 0  # padding slot gets no gradient
    assert scores.grad[0, 0] < 0 < scores.grad[0, 1]  # push correct up, wrong down


def test_ranking_metrics_and_unknown_loss():
    scores = torch.tensor([[3.0, 1.0, 2.0, 2.0]])
    labels = torch.tensor([[1, 0, 1, 0]]).bool()
    m = ranking_metrics(scores, labels)
    # pairs (3,1) right, (3,2) right, (2,1) right, (2,2) tie = 0.5 -> 3.5 / 4
    assert m["pairs"] == 4 and m["pair_acc"] == pytest.approx(0.875)
    assert m["margin"] == pytest.approx(((3 - 1) + (3 - 2) + (2 - 1) + 0) / 4)
    with pytest.raises(ValueError, match="unknown reward-model loss"):
        get_loss("hinge")

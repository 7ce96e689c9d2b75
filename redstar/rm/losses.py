"""Reward-model losses over groups of responses to the same problem.

Every loss takes the scores of the responses in a batch laid out as groups:

    scores: (G, n) float   reward of response j to problem g
    labels: (G, n) bool    True where the response is correct (verifier label)
    valid:  (G, n) bool    False for padding slots (groups may hold fewer than n responses)

and returns ``(loss_sum, count)``: the unnormalised sum and the number of units it sums over
(groups, pairs or responses). The caller divides once, after summing over gradient
accumulation steps and ranks, so a micro-batch with fewer units does not weigh more; this is
the same contract as the training engine's ``loss_sum / n_target_tokens``.

- ``listwise_bt``: AceMath's listwise Bradley-Terry. For a group with k positives among n,
  L_g = -1/(k(n-k)) * sum over (pos, neg) pairs of log sigmoid(r+ - r-); units are groups, so
  every problem weighs the same whatever its k.
- ``pairwise_bt``: the same pairs, but every (pos, neg) pair weighs the same (units are pairs);
  with n = 2 the two losses coincide.
- ``bce``: pointwise cross-entropy, sigmoid(r) as P(correct).
- ``mse``: pointwise regression of r onto the 0/1 label.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

LOSSES = ("listwise_bt", "pairwise_bt", "bce", "mse")


def _pair_mask(labels: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """(G, n, n) bool: True at [g, i, j] when i is a valid positive and j a valid negative."""
    pos = labels & valid  # (G, n)
    neg = ~labels & valid  # (G, n)
    return pos[:, :, None] & neg[:, None, :]


def _pair_logsigmoid(scores: torch.Tensor) -> torch.Tensor:
    """(G, n, n): log sigmoid(r_i - r_j) for every ordered pair of a group."""
    diff = scores[:, :, None] - scores[:, None, :]  # (G, n, n)
    return F.logsigmoid(diff.float())


def listwise_bt(scores: torch.Tensor, labels: torch.Tensor, valid: torch.Tensor | None = None):
    """AceMath listwise Bradley-Terry; returns (sum of per-group losses, number of groups with
    at least one positive and one negative). Groups without both kinds contribute nothing."""
    labels = labels.bool()
    valid = torch.ones_like(labels) if valid is None else valid.bool()
    mask = _pair_mask(labels, valid)  # (G, n, n)
    n_pairs = mask.sum(dim=(1, 2))  # (G,) = k * (n - k)
    per_pair = _pair_logsigmoid(scores) * mask  # (G, n, n)
    has_pairs = n_pairs > 0
    per_group = -per_pair.sum(dim=(1, 2)) / n_pairs.clamp(min=1)  # (G,)
    return (per_group * has_pairs).sum(), int(has_pairs.sum())


def pairwise_bt(scores: torch.Tensor, labels: torch.Tensor, valid: torch.Tensor | None = None):
    """Bradley-Terry over all (pos, neg) pairs, each pair weighted equally; (sum, n_pairs)."""
    labels = labels.bool()
    valid = torch.ones_like(labels) if valid is None else valid.bool()
    mask = _pair_mask(labels, valid)
    return -(_pair_logsigmoid(scores) * mask).sum(), int(mask.sum())


def bce(scores: torch.Tensor, labels: torch.Tensor, valid: torch.Tensor | None = None):
    """Pointwise binary cross-entropy with sigmoid(r) = P(correct); (sum, n_responses)."""
    valid = torch.ones_like(labels, dtype=torch.bool) if valid is None else valid.bool()
    loss = F.binary_cross_entropy_with_logits(scores.float(), labels.float(), reduction="none")
    return (loss * valid).sum(), int(valid.sum())


def mse(scores: torch.Tensor, labels: torch.Tensor, valid: torch.Tensor | None = None):
    """Pointwise squared error of r against the 0/1 label; (sum, n_responses)."""
    valid = torch.ones_like(labels, dtype=torch.bool) if valid is None else valid.bool()
    loss = (scores.float() - labels.float()) ** 2
    return (loss * valid).sum(), int(valid.sum())


def get_loss(name: str):
    try:
        return {"listwise_bt": listwise_bt, "pairwise_bt": pairwise_bt, "bce": bce, "mse": mse}[name]
    except KeyError:
        raise ValueError(f"unknown reward-model loss {name!r} (choose from {', '.join(LOSSES)})") from None


@torch.no_grad()
def ranking_metrics(scores: torch.Tensor, labels: torch.Tensor, valid: torch.Tensor | None = None) -> dict:
    """Pairwise accuracy (share of (pos, neg) pairs ranked right, ties count half), the mean
    margin r+ - r- and the pair count: what tells whether a reward model ranks at all."""
    labels = labels.bool()
    valid = torch.ones_like(labels) if valid is None else valid.bool()
    mask = _pair_mask(labels, valid)  # (G, n, n)
    diff = (scores[:, :, None] - scores[:, None, :]).float()  # (G, n, n)
    n = int(mask.sum())
    if n == 0:
        return {"pair_acc": float("nan"), "margin": float("nan"), "pairs": 0}
    right = ((diff > 0).float() + 0.5 * (diff == 0).float())[mask]
    return {"pair_acc": float(right.mean()), "margin": float(diff[mask].mean()), "pairs": n}

"""Token-level cross-entropy and its normalisation, written once for SFT, DPO and RM recipes.

Two rules live here:

1. **Normalise by target tokens over the whole optimizer step.** A step sees several
   micro-batches (gradient accumulation) on several ranks; each holds a different number of
   target tokens. Averaging per micro-batch weights a short sample's tokens more than a long
   one's, and the result changes with how the batch is split. Instead every micro-batch
   returns the *sum* of its token losses, the step's total target count ``N`` is summed over
   micro-batches and all-reduced over ranks, and each micro-batch back-propagates
   ``loss_sum * world_size / N`` (``world_size`` cancels the mean that DDP / DeepSpeed take
   over ranks). The step's gradient is then exactly d(sum of all token losses / N), whatever
   the split: see :func:`scale_for_backward`.

2. **Never hold the full [tokens, vocab] logits.** With a 150k vocabulary a 32k-token pack
   needs 19.7 GB of fp32 logits (plus as much again for their gradient).
   :func:`linear_cross_entropy` takes the final hidden states and the output embedding and
   works through the target tokens in chunks, computing each chunk's loss and its gradient
   in one pass, so the peak is one [chunk, vocab] block. Liger's fused kernel is used instead
   when it is installed and the tensors are on a GPU.
"""

from __future__ import annotations

import torch

IGNORE_INDEX = -100


class _ChunkedLinearCE(torch.autograd.Function):
    """sum_t CE(hidden[t] @ weight.T, labels[t]) with gradients computed chunk by chunk in the
    forward pass (the same trick as Liger's fused linear cross-entropy), so backward only
    scales the stored gradients: no [N, V] tensor ever exists."""

    @staticmethod
    def forward(ctx, hidden, weight, labels, chunk_size: int):
        # hidden [N, H] (targets only), weight [V, H], labels [N]
        n = hidden.shape[0]
        ctx.weight_dtype = weight.dtype
        need_h, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        grad_h = torch.empty_like(hidden) if need_h else None
        grad_w = torch.zeros(weight.shape, dtype=torch.float32, device=weight.device) if need_w else None
        total = torch.zeros((), dtype=torch.float32, device=hidden.device)
        for start in range(0, n, chunk_size):
            h = hidden[start : start + chunk_size]  # [c, H]
            y = labels[start : start + chunk_size]  # [c]
            logits = (h @ weight.t()).float()  # [c, V] fp32
            lse = torch.logsumexp(logits, dim=-1)  # [c]
            total += (lse - logits.gather(1, y[:, None]).squeeze(1)).sum()
            if need_h or need_w:
                # d CE / d logits = softmax - onehot; reuse the logits buffer in place
                grad_logits = logits.sub_(lse[:, None]).exp_()  # [c, V]
                grad_logits[torch.arange(len(y), device=y.device), y] -= 1.0
                g = grad_logits.to(hidden.dtype)
                if need_h:
                    grad_h[start : start + chunk_size] = g @ weight
                if need_w:
                    accumulate_fp32(grad_w, g.t(), h)
                del grad_logits, g
            del logits
        ctx.save_for_backward(grad_h if need_h else None, grad_w if need_w else None)
        return total

    @staticmethod
    def backward(ctx, grad_out):
        grad_h, grad_w = ctx.saved_tensors
        gh = grad_h * grad_out.to(grad_h.dtype) if grad_h is not None else None
        gw = (grad_w * grad_out).to(ctx.weight_dtype) if grad_w is not None else None
        return gh, gw, None, None


def accumulate_fp32(acc: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> None:
    """``acc += a @ b`` with ``acc`` fp32 and ``a``, ``b`` in the compute dtype (bf16): the
    product is accumulated in fp32 from the bf16 inputs, as Liger does, with torch's
    ``addmm(..., out_dtype=float32)`` where the backend has it (CUDA); elsewhere the inputs
    are upcast (the same numbers, more memory traffic)."""
    if a.dtype == torch.float32 and b.dtype == torch.float32:
        acc.addmm_(a, b)
        return
    if a.is_cuda:
        try:  # in place: no [V, H] temporary
            torch.addmm(acc, a, b, out_dtype=torch.float32, out=acc)
            return
        except (RuntimeError, TypeError):
            pass
        try:
            acc.copy_(torch.addmm(acc, a, b, out_dtype=torch.float32))
            return
        except (RuntimeError, TypeError):  # torch without the fp32-output matmul
            pass
    acc.addmm_(a.float(), b.float())


class _ChunkedTokenNLL(torch.autograd.Function):
    """Per-token ``-log p(labels[t])`` [n] under ``hidden[t] @ weight.T`` for a whole pack,
    chunk by chunk. Forward keeps one [chunk, V] block at a time and saves only each token's
    log-sum-exp; backward recomputes a chunk's logits and scales (softmax - onehot) by that
    token's incoming gradient (in DPO: the gradient of its sample's log-prob), so the weight
    gradient is one fp32 [V, H] buffer for the pack, whatever the number of samples. Without
    autograd (a reference pass) it is the forward alone: no gradient work at all."""

    @staticmethod
    def forward(ctx, hidden, weight, labels, chunk_size: int):
        # the matmul dtype, fixed here so backward recomputes the very logits forward saw
        # (autocast is not active in backward): bf16 under autocast, else the inputs' own
        kind = hidden.device.type
        cd = torch.get_autocast_dtype(kind) if torch.is_autocast_enabled(kind) else torch.result_type(hidden, weight)
        w = weight.to(cd)
        nll = torch.empty(hidden.shape[0], dtype=torch.float32, device=hidden.device)
        lse_all = torch.empty_like(nll)
        for start in range(0, hidden.shape[0], chunk_size):
            logits = (hidden[start : start + chunk_size].to(cd) @ w.t()).float()  # [c, V]
            y = labels[start : start + chunk_size]
            lse = torch.logsumexp(logits, dim=-1)
            lse_all[start : start + chunk_size] = lse
            nll[start : start + chunk_size] = lse - logits.gather(1, y[:, None]).squeeze(1)
            del logits
        ctx.chunk_size, ctx.cd = chunk_size, cd
        ctx.save_for_backward(hidden, weight, labels, lse_all)
        return nll

    @staticmethod
    def backward(ctx, grad_nll):
        hidden, weight, labels, lse_all = ctx.saved_tensors
        need_h, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        grad_h = torch.empty_like(hidden) if need_h else None
        grad_w = torch.zeros(weight.shape, dtype=torch.float32, device=weight.device) if need_w else None
        c, cd = ctx.chunk_size, ctx.cd
        w = weight.to(cd)
        for start in range(0, hidden.shape[0], c):
            h = hidden[start : start + c].to(cd)
            y = labels[start : start + c]
            g = (h @ w.t()).float().sub_(lse_all[start : start + c, None]).exp_()  # softmax [c, V]
            g[torch.arange(len(y), device=y.device), y] -= 1.0
            g.mul_(grad_nll[start : start + c, None].float())
            g = g.to(cd)
            if need_h:
                grad_h[start : start + c] = (g @ w).to(grad_h.dtype)
            if need_w:
                accumulate_fp32(grad_w, g.t(), h)
            del g
        return grad_h, (grad_w.to(weight.dtype) if need_w else None), None, None


def token_nll(
    hidden: torch.Tensor,
    head,
    labels: torch.Tensor,
    chunk_size: int | None = None,
    head_chunk_size: int = 1024,
    n_chunks: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token ``-log p`` of every target of a pack in one chunked pass over the head.

    hidden [..., H], labels [...] (shifted; -100 = no target). Returns (nll [n] fp32 of the
    target tokens in order, keep [N] bool mask of which flattened positions they are).
    Under DeepSpeed ZeRO-3 the head is called as a module in checkpointed chunks (``n_chunks``
    of them, the same for every micro-batch; see :func:`checkpointed_head_cross_entropy`), so
    its weight is gathered by design (never read while partitioned); otherwise the weight is
    used directly by :class:`_ChunkedTokenNLL`."""
    h = hidden.reshape(-1, hidden.shape[-1])  # [N, H]
    y = labels.reshape(-1)
    keep = y != IGNORE_INDEX
    h, y = h[keep], y[keep]  # [n, H], [n]
    n = h.shape[0]
    if _is_zero3_partitioned(head.weight):
        from torch.utils.checkpoint import checkpoint

        def chunk_nll(hc, yc):
            return torch.nn.functional.cross_entropy(head(hc).float(), yc, reduction="none")

        parts = []
        for a, b in _chunk_bounds(n, head_chunk_size, n_chunks, hidden.device):
            hc, yc = h[a:b], y[a:b]
            if torch.is_grad_enabled():
                parts.append(checkpoint(chunk_nll, hc, yc, use_reentrant=False))
            else:
                parts.append(chunk_nll(hc, yc))
        # every part, an empty one too, stays in the graph: backward recomputes (gathers) each
        return (torch.cat(parts) if parts else h.sum(-1).float() * 0.0), keep
    if getattr(head, "bias", None) is not None:
        logits = torch.nn.functional.linear(h, head.weight, head.bias).float()
        return torch.nn.functional.cross_entropy(logits, y, reduction="none"), keep
    if chunk_size is None:
        chunk_size = max(16, (256 * 2**20) // (4 * head.weight.shape[0]))
    if n == 0:
        return (h.sum(-1) * 0.0 + head.weight.sum() * 0.0).float(), keep
    return _ChunkedTokenNLL.apply(h, head.weight, y, int(chunk_size)), keep


def sample_logps(
    hidden: torch.Tensor,
    head,
    labels: torch.Tensor,
    sample_idx: torch.Tensor,
    num_samples: int,
    chunk_size: int | None = None,
    head_chunk_size: int = 1024,
    n_chunks: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(summed target log-probs [S], target counts [S]) per sample of a pack: one
    :func:`token_nll` pass for all samples, then a per-sample sum (``sample_idx`` [...] is
    the sample of each position, -1 for none)."""
    nll, keep = token_nll(hidden, head, labels, chunk_size, head_chunk_size, n_chunks)  # [n]
    seg = sample_idx.reshape(-1).to(nll.device)[keep]  # [n]
    if bool((seg < 0).any()):
        raise ValueError("a target token lies outside every sample (sample index -1)")
    logps = torch.zeros(num_samples, dtype=torch.float32, device=nll.device).index_add(0, seg, -nll)
    counts = torch.bincount(seg, minlength=num_samples)
    if nll.numel() == 0:
        logps = logps + nll.sum()  # keep the graph connected
    return logps, counts


def pack_sample_index(cu_seqlens, length: int) -> torch.Tensor:
    """[1, T] sample index of each position of a packed row from its ``cu_seqlens``."""
    cu = torch.as_tensor(cu_seqlens, dtype=torch.long)
    idx = torch.full((1, length), -1, dtype=torch.long)
    sizes = cu[1:] - cu[:-1]
    idx[0, : int(cu[-1])] = torch.repeat_interleave(torch.arange(len(sizes)), sizes)
    return idx


def linear_cross_entropy(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    labels: torch.Tensor,
    chunk_size: int | None = None,
    bias: torch.Tensor | None = None,
    impl: str = "auto",
) -> tuple[torch.Tensor, int]:
    """Sum of next-token cross-entropy over positions whose label is not -100.

    hidden [..., H] final hidden states, weight [V, H] the output embedding, labels [...]
    already aligned with hidden (shifted). Returns (loss_sum fp32 scalar, n_targets).
    ``impl``: "auto" (liger on GPU when installed, else chunked), "chunked", "liger", "naive"
    (full logits; for tests and for comparison only). ``chunk_size`` defaults to keep one
    chunk's fp32 logits near 256 MB.
    """
    h = hidden.reshape(-1, hidden.shape[-1])  # [N, H]
    y = labels.reshape(-1)  # [N]
    keep = y != IGNORE_INDEX
    n = int(keep.sum())
    if n == 0:
        # keep the graph connected so every rank runs the same backward (DDP / ZeRO hooks)
        return (h.sum() * 0.0 + weight.sum() * 0.0).float(), 0
    h, y = h[keep], y[keep]  # [n, H], [n]
    if impl == "auto":
        impl = "liger" if (h.is_cuda and _has_liger() and bias is None) else "chunked"
    if impl == "naive" or bias is not None:
        logits = torch.nn.functional.linear(h, weight, bias).float()  # [n, V]
        return torch.nn.functional.cross_entropy(logits, y, reduction="sum"), n
    if impl == "liger":
        out = _liger_loss()(weight, h, y)
        return (out[0] if isinstance(out, tuple) else getattr(out, "loss", out)).float(), n
    if chunk_size is None:
        chunk_size = max(16, (256 * 2**20) // (4 * weight.shape[0]))
    return _ChunkedLinearCE.apply(h, weight, y, int(chunk_size)), n


def _liger_loss():
    """Liger's fused linear cross-entropy (sum), accumulating the weight gradient in fp32 from
    bf16 inputs (its ``accum_dtype``, where the installed version has it)."""
    import inspect

    from liger_kernel.transformers import LigerFusedLinearCrossEntropyLoss

    kwargs = {"reduction": "sum"}
    if "accum_dtype" in inspect.signature(LigerFusedLinearCrossEntropyLoss.__init__).parameters:
        kwargs["accum_dtype"] = torch.float32
    return LigerFusedLinearCrossEntropyLoss(**kwargs)


def _has_liger() -> bool:
    import importlib.util

    return importlib.util.find_spec("liger_kernel") is not None


# ----------------------------------------------------------------------------- normalisation


def global_target_count(counts, device: torch.device | str = "cpu") -> int:
    """Total target tokens of one optimizer step: summed over this rank's micro-batches
    (``counts``, ints) and all-reduced over the data-parallel ranks."""
    total = torch.tensor(float(sum(int(c) for c in counts)), dtype=torch.float64, device=device)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.all_reduce(total)
    return int(total.item())


def scale_for_backward(loss_sum: torch.Tensor, global_count: int, world_size: int = 1) -> torch.Tensor:
    """The tensor to back-propagate for one micro-batch: ``loss_sum * world_size / N``.

    With ``N`` = :func:`global_target_count` of the step and gradients averaged over
    ``world_size`` ranks (DDP, DeepSpeed), the accumulated gradient equals the gradient of the
    mean token loss over the whole step, independent of the micro-batch split."""
    return loss_sum * (float(world_size) / max(int(global_count), 1))


def causal_lm_loss(
    model, batch: dict, impl: str = "auto", head_chunk_size: int = 1024
) -> tuple[torch.Tensor, int, dict]:
    """The default ``loss_fn`` for SFT: next-token cross-entropy summed over target tokens.

    ``batch`` holds ``input_ids`` [B, T], ``labels`` [B, T] already shifted (see
    packing.collate_packed), and ``position_ids`` (packed) or ``attention_mask`` (padded).
    The decoder runs without its LM head; :func:`linear_cross_entropy` applies the head chunk
    by chunk. Returns (loss_sum, n_targets, metrics)."""
    kwargs = {k: batch[k] for k in ("input_ids", "position_ids", "attention_mask") if k in batch}
    decoder = model.get_decoder() if hasattr(model, "get_decoder") else model.model
    hidden = decoder(**kwargs, **packed_attention_kwargs(model, batch), use_cache=False).last_hidden_state  # [B, T, H]
    head = model.get_output_embeddings()
    if _is_zero3_partitioned(head.weight):
        # ZeRO-3 holds only a shard of the head outside its own forward: call the module,
        # chunk by chunk under activation checkpointing, so still no [T, V] logits are kept.
        n_chunks = head_chunks(batch.get("pack_len"), head_chunk_size)
        loss, n = checkpointed_head_cross_entropy(head, hidden, batch["labels"], head_chunk_size, n_chunks)
    else:
        loss, n = linear_cross_entropy(
            hidden, head.weight, batch["labels"], bias=getattr(head, "bias", None), impl=impl
        )
    return loss, n, {}


def packed_attention_kwargs(model, batch: dict) -> dict:
    """For flash attention on a packed text batch: the sample boundaries as transformers'
    ``cu_seq_lens_q/k`` (int32, on the batch's device) and ``max_length_q/k`` (ints).
    Without them transformers re-derives both from ``position_ids`` in every layer, a
    device-to-host sync each time. Other kernels take the boundaries from the positions: {}."""
    config = getattr(model, "config", None)
    impl = str(getattr(config, "_attn_implementation", "") or "")
    if "flash" not in impl or "cu_seqlens" not in batch or batch["input_ids"].shape[0] != 1:
        return {}
    cu = batch["cu_seqlens"].to(device=batch["input_ids"].device, dtype=torch.int32, non_blocking=True)
    longest = int(batch.get("max_seqlen") or int((batch["cu_seqlens"][1:] - batch["cu_seqlens"][:-1]).max()))
    return {"cu_seq_lens_q": cu, "cu_seq_lens_k": cu, "max_length_q": longest, "max_length_k": longest}


def checkpointed_head_cross_entropy(
    head, hidden: torch.Tensor, labels: torch.Tensor, chunk_size: int = 1024, n_chunks: int | None = None
) -> tuple[torch.Tensor, int]:
    """The same sum as :func:`linear_cross_entropy` through ``head(...)`` module calls (so
    DeepSpeed ZeRO-3 can gather the weight), one checkpointed chunk at a time: each chunk's
    logits are freed after its loss and recomputed in backward.

    Every ``head`` call is a collective under ZeRO-3 (the weight is all-gathered in forward
    and again when backward recomputes the chunk), so every rank and every micro-batch makes
    the same calls: ``n_chunks`` (:func:`head_chunks`, from the pack length) whatever the
    target count, the targets split evenly over them, so DeepSpeed's recorded module trace
    stays valid and its prefetching works. Without ``n_chunks`` the count is the largest
    ``ceil(targets / chunk_size)`` over ranks (a collective per micro-batch, and a count that
    changes between micro-batches)."""
    from torch.utils.checkpoint import checkpoint

    h = hidden.reshape(-1, hidden.shape[-1])  # [N, H]
    y = labels.reshape(-1)
    keep = y != IGNORE_INDEX
    n = int(keep.sum())
    h, y = h[keep], y[keep]  # [n, H], [n]
    bounds = _chunk_bounds(n, chunk_size, n_chunks, hidden.device)

    def chunk_loss(hc, yc):
        # hc [c, H] with c possibly 0 (the empty call still joins ZeRO-3's gather)
        return torch.nn.functional.cross_entropy(head(hc).float(), yc, reduction="sum")

    total = hidden.sum() * 0.0  # connected even when n == 0
    for a, b in bounds:
        total = total + checkpoint(chunk_loss, h[a:b], y[a:b], use_reentrant=False)
    return total.float(), n


def head_chunks(pack_len: int | None, chunk_size: int = 1024) -> int | None:
    """The constant number of head chunks for micro-batches of at most ``pack_len`` tokens
    (None when unknown)."""
    return -(-int(pack_len) // int(chunk_size)) if pack_len else None


def _chunk_bounds(n: int, chunk_size: int, n_chunks: int | None, device) -> list[tuple[int, int]]:
    """[start, end) of each head chunk over ``n`` targets: ``n_chunks`` even parts (at most
    ``chunk_size`` each, as n <= pack_len), else ``chunk_size`` parts as many as the largest
    rank needs (past ``n``: empty)."""
    if n_chunks is not None:
        k = max(int(n_chunks), 1)
        return [(i * n // k, (i + 1) * n // k) for i in range(k)]
    k = _max_over_ranks(-(-n // chunk_size), device)
    return [(min(i * chunk_size, n), min((i + 1) * chunk_size, n)) for i in range(k)]


def _max_over_ranks(value: int, device) -> int:
    """``value`` maximised over the default (data-parallel) process group; itself alone."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return value
    t = torch.tensor([value], dtype=torch.int64, device=device)
    torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
    return int(t.item())


def _is_zero3_partitioned(param) -> bool:
    return hasattr(param, "ds_id") and hasattr(param, "ds_status")

"""Loss math: the chunked linear cross-entropy equals the full-logits one (value and
gradients), and the engine's step gradient does not depend on how the step is split."""

import pytest
import torch

from redstar.models import tiny_causal_lm
from redstar.train.engine import PlanLoader, TrainConfig, Trainer
from redstar.train.loss import causal_lm_loss, linear_cross_entropy, scale_for_backward
from redstar.train.packing import IGNORE_INDEX, collate_packed
from tests.redstar.train.train_fixtures import quiet_train, token_samples


@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_chunked_matches_full_logits(chunk):
    g = torch.Generator().manual_seed(0)
    h = torch.randn(3, 20, 16, generator=g, requires_grad=True)
    w = torch.randn(300, 16, generator=g, requires_grad=True)
    y = torch.randint(0, 300, (3, 20), generator=g)
    y[0, :5] = -100
    y[2, -3:] = -100
    a, n = linear_cross_entropy(h, w, y, chunk_size=chunk, impl="chunked")
    (a * 0.37).backward()
    gh, gw = h.grad.clone(), w.grad.clone()
    h.grad = w.grad = None
    ref = torch.nn.functional.cross_entropy(
        torch.einsum("bth,vh->btv", h, w).reshape(-1, 300), y.reshape(-1), ignore_index=-100, reduction="sum"
    )
    (ref * 0.37).backward()
    assert n == int((y != -100).sum()) == 52
    torch.testing.assert_close(a, ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(gh, h.grad, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(gw, w.grad, rtol=1e-4, atol=1e-6)


def test_no_targets_gives_zero_loss_with_a_graph():
    h = torch.randn(4, 8, requires_grad=True)
    w = torch.randn(10, 8, requires_grad=True)
    loss, n = linear_cross_entropy(h, w, torch.full((4,), -100))
    loss.backward()
    assert n == 0 and loss.item() == 0.0 and h.grad.abs().sum() == 0


def test_scale_for_backward_is_mean_over_step():
    assert scale_for_backward(torch.tensor(12.0), 8, world_size=2).item() == 3.0


def _examples(n=6):
    return token_samples(n, first_len=6, step=5, seed=1)  # unequal lengths: a per-batch mean would differ


def _step_grads(tmp_path, plan, grad_accum):
    """Gradient the real engine applies at its first optimizer step."""
    model, _ = tiny_causal_lm(seed=2)
    loader = PlanLoader(_examples(), lambda epoch: plan, collate_packed)
    cfg = TrainConfig(**quiet_train(lr=1e-3, max_steps=1, grad_accum=grad_accum, max_grad_norm=0.0))
    trainer = Trainer(model, causal_lm_loss, loader, cfg, tmp_path)
    seen = {}
    original = trainer.backend.step

    def capture():
        seen.update({n: p.grad.clone() for n, p in trainer.backend.module.named_parameters()})
        return original()

    trainer.backend.step = capture
    trainer.train()
    return seen


def test_step_gradient_independent_of_split(tmp_path):
    one = _step_grads(tmp_path / "a", [[0, 1, 2, 3, 4, 5]], grad_accum=1)
    three = _step_grads(tmp_path / "b", [[5], [0, 1, 2], [3, 4]], grad_accum=3)
    six = _step_grads(tmp_path / "c", [[i] for i in range(6)], grad_accum=6)
    for n in one:
        torch.testing.assert_close(three[n], one[n], rtol=1e-4, atol=1e-6, msg=n)
        torch.testing.assert_close(six[n], one[n], rtol=1e-4, atol=1e-6, msg=n)
    # and a per-micro-batch mean (the common mistake) would not match
    model, _ = tiny_causal_lm(seed=2)
    ex = _examples()
    for group in ([5], [0, 1, 2], [3, 4]):
        loss, n, _ = causal_lm_loss(model, collate_packed([ex[i] for i in group]))
        (loss / n / 3).backward()
    w = "model.layers.0.mlp.up_proj.weight"
    assert not torch.allclose(dict(model.named_parameters())[w].grad, one[w], rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("n_targets", [0, 3, 9])
def test_head_chunks_follow_the_largest_rank(monkeypatch, n_targets):
    """The ZeRO-3 head path calls the head (a weight all-gather there) as often as the rank
    with most chunks, here pretended to need 5 chunks of 2, also with no targets at all;
    the sum and its gradient still match the plain formula."""
    import redstar.train.loss as L

    torch.manual_seed(0)
    head = torch.nn.Linear(6, 11, bias=False)
    hidden = torch.randn(2, 7, 6, requires_grad=True)
    labels = torch.full((2, 7), -100)
    labels.view(-1)[:n_targets] = torch.randint(0, 11, (n_targets,))
    calls = []
    head.register_forward_hook(lambda m, args, out: calls.append(args[0].shape[0]))
    monkeypatch.setattr(L, "_max_over_ranks", lambda value, device: max(value, 5))
    loss, n = L.checkpointed_head_cross_entropy(head, hidden, labels, chunk_size=2)
    loss.backward()
    ref, _ = linear_cross_entropy(hidden, head.weight, labels, impl="naive")
    assert n == n_targets and len(calls) == 10  # 5 in forward, 5 recomputed in backward
    assert loss.item() == pytest.approx(ref.item(), rel=1e-6, abs=1e-6)
    if n_targets:
        g = torch.autograd.grad(ref, hidden)[0]
        torch.testing.assert_close(hidden.grad, g)
    else:
        assert loss.item() == 0.0 and hidden.grad is not None


def test_liger_is_asked_for_fp32_weight_gradient_accumulation(monkeypatch):
    """The installed Liger's fused loss is built with ``accum_dtype=float32`` (its option for
    accumulating the weight gradient in fp32 from bf16 inputs)."""
    import sys
    import types

    made = []

    class FakeLiger(torch.nn.Module):
        def __init__(self, ignore_index=-100, reduction="mean", accum_dtype=None):
            super().__init__()
            made.append({"reduction": reduction, "accum_dtype": accum_dtype})

        def forward(self, weight, h, y):
            return torch.nn.functional.cross_entropy(h @ weight.t(), y, reduction="sum")

    mod = types.ModuleType("liger_kernel.transformers")
    mod.LigerFusedLinearCrossEntropyLoss = FakeLiger
    monkeypatch.setitem(sys.modules, "liger_kernel", types.ModuleType("liger_kernel"))
    monkeypatch.setitem(sys.modules, "liger_kernel.transformers", mod)
    h, w = torch.randn(6, 8), torch.randn(20, 8)
    y = torch.tensor([1, 2, -100, 4, 5, 6])
    loss, n = linear_cross_entropy(h, w, y, impl="liger")
    ref, _ = linear_cross_entropy(h, w, y, impl="naive")
    assert n == 5 and torch.allclose(loss, ref)
    assert made == [{"reduction": "sum", "accum_dtype": torch.float32}]


def test_fp32_accumulation_from_low_precision_inputs():
    from redstar.train.loss import accumulate_fp32

    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(32, 64, generator=g), torch.randn(64, 16, generator=g)
    acc = torch.ones(32, 16)
    accumulate_fp32(acc, a.bfloat16(), b.bfloat16())
    assert acc.dtype == torch.float32
    exact = 1 + a.bfloat16().double() @ b.bfloat16().double()
    assert torch.allclose(acc.double(), exact, atol=1e-4)


@pytest.mark.gpu
def test_chunked_weight_gradient_accumulates_in_fp32_from_bf16_on_gpu():
    """On CUDA the bf16 weight-gradient products go into the fp32 buffer through
    ``addmm(..., out_dtype=float32)``, no fp32 copy of the [chunk, V] block: the result is
    as close to an fp64 reference as fp32 accumulation allows."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Seen(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.ops = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func.overloadpacket in (torch.ops.aten.mm, torch.ops.aten.addmm):
                self.ops.append((str(func), tuple(a.dtype for a in args if torch.is_tensor(a))))
            return func(*args, **(kwargs or {}))

    g = torch.Generator(device="cuda").manual_seed(0)
    h = torch.randn(4096, 256, device="cuda", generator=g).bfloat16().requires_grad_()
    w = (torch.randn(8192, 256, device="cuda", generator=g) * 0.05).bfloat16().requires_grad_()
    y = torch.randint(0, 8192, (4096,), device="cuda", generator=g)
    with Seen() as seen:
        loss, _ = linear_cross_entropy(h, w, y, chunk_size=512, impl="chunked")
        loss.backward()
    assert any("addmm.dtype" in name for name, _ in seen.ops), seen.ops
    h64, w64 = h.detach().double().requires_grad_(), w.detach().double().requires_grad_()
    torch.nn.functional.cross_entropy(h64 @ w64.t(), y, reduction="sum").backward()
    err = (w.grad.double() - w64.grad).norm() / w64.grad.norm()
    assert err < 1e-2, err


def test_zero3_head_calls_are_the_same_for_every_micro_batch():
    """Under ZeRO-3 DeepSpeed records the order of module calls and prefetches parameters by
    it; a micro-batch that calls the head a different number of times invalidates the trace.
    Two packs of the same pack_len with very different target counts make the same calls,
    forward and backward (the checkpointed chunks recompute), and the loss stays exact."""
    from redstar.train import loss as L

    model, _ = tiny_causal_lm(seed=3)
    g = torch.Generator().manual_seed(0)

    def pack(prompt, reply):
        ids = torch.randint(10, 400, (prompt + reply,), generator=g).tolist()
        return {"input_ids": ids, "labels": [IGNORE_INDEX] * prompt + ids[prompt:]}

    batches = [
        collate_packed(samples, pack_len=48)
        for samples in ([pack(20, 3)], [pack(2, 30), pack(1, 10)], [pack(40, 0), pack(1, 1)])
    ]
    refs = [causal_lm_loss(model, b, impl="naive")[0].item() for b in batches]  # full logits
    head = model.get_output_embeddings()
    head.weight.ds_id, head.weight.ds_status = 0, "AVAILABLE"  # what ZeRO-3 puts on a partitioned weight
    assert L._is_zero3_partitioned(head.weight)
    calls = []
    for name, module in model.named_modules():
        module.register_forward_hook(lambda m, a, o, name=name: calls.append(name))
    seqs = []
    for batch, ref in zip(batches, refs):
        calls.clear()
        loss, n, _ = causal_lm_loss(model, batch, head_chunk_size=8)
        loss.backward()
        seqs.append(list(calls))
        assert loss.item() == pytest.approx(ref, rel=1e-5)
    assert [b["num_targets"] for b in batches] == [3, 40, 1]
    assert seqs[0].count("lm_head") == 2 * 6  # 48 / 8 chunks, forward and recomputed in backward
    assert seqs[0] == seqs[1] == seqs[2]

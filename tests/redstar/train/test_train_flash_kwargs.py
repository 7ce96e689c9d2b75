"""Packed text batches under flash attention carry their sample boundaries to the kernel
(cu_seq_lens / max_length), so transformers need not re-derive them in every layer."""

from types import SimpleNamespace

import pytest
import torch

from redstar.models import tiny_causal_lm
from redstar.train.dpo import collate_pairs, sequence_logps
from redstar.train.loss import causal_lm_loss, packed_attention_kwargs
from redstar.train.packing import collate_packed
from tests.redstar.train.train_fixtures import token_samples


def _samples(k=3):
    return token_samples(k, first_len=9, step=4, seed=0)


class Recorder(torch.nn.Module):
    """Stands in for the decoder: records the keyword arguments, runs the real decoder on sdpa."""

    def __init__(self, decoder):
        super().__init__()
        self.decoder, self.seen = decoder, []

    def forward(self, **kwargs):
        self.seen.append(kwargs)
        plain = {k: v for k, v in kwargs.items() if not k.startswith(("cu_seq_lens", "max_length"))}
        return self.decoder(**plain)


def test_flash_attention_gets_the_packed_boundaries(monkeypatch):
    model, _ = tiny_causal_lm(seed=0)
    batch = collate_packed(_samples())
    assert packed_attention_kwargs(model, batch) == {}  # sdpa: boundaries from positions
    # the top model's config says flash (the decoder itself keeps running sdpa on the CPU)
    monkeypatch.setattr(model, "config", SimpleNamespace(_attn_implementation="flash_attention_2", use_cache=False))
    kw = packed_attention_kwargs(model, batch)
    assert kw["cu_seq_lens_q"].dtype == torch.int32 and kw["cu_seq_lens_q"].tolist() == [0, 9, 22, 39]
    assert kw["cu_seq_lens_k"] is kw["cu_seq_lens_q"] and kw["max_length_q"] == kw["max_length_k"] == 17
    rec = Recorder(model.model)
    monkeypatch.setattr(model, "get_decoder", lambda: rec)
    causal_lm_loss(model, batch)
    items = [{"chosen": a, "rejected": b} for a, b in zip(_samples(4)[::2], _samples(4)[1::2])]
    sequence_logps(model, collate_pairs(items))
    assert [sorted(k for k in s if k.startswith(("cu_seq", "max_len"))) for s in rec.seen] == [
        ["cu_seq_lens_k", "cu_seq_lens_q", "max_length_k", "max_length_q"]
    ] * 2


@pytest.mark.gpu
def test_packed_flash_with_boundaries_equals_samples_one_by_one():
    pytest.importorskip("flash_attn")
    model, _ = tiny_causal_lm(seed=0)
    model = model.to("cuda", torch.bfloat16)
    model.set_attn_implementation("flash_attention_2")
    samples = _samples()
    batch = {
        k: (v.cuda() if torch.is_tensor(v) and k != "cu_seqlens" else v) for k, v in collate_packed(samples).items()
    }
    packed, n = causal_lm_loss(model, batch)[:2]
    alone = sum(
        causal_lm_loss(
            model,
            {k: (v.cuda() if torch.is_tensor(v) and k != "cu_seqlens" else v) for k, v in collate_packed([s]).items()},
        )[0]
        for s in samples
    )
    torch.testing.assert_close(packed, alone, rtol=2e-2, atol=1e-2)

"""Backend settings read against DeepSpeed: fp32 gradient accumulation, rank-0-only export."""

import torch

from redstar.models import tiny_causal_lm
from redstar.train.distributed import Backend, DistInfo, deepspeed_config
from redstar.train.memory import TensorMemory


def test_deepspeed_accumulates_gradients_in_fp32():
    for stage in (2, 3):
        cfg = deepspeed_config(stage, 4, 2, "bfloat16", 1.0, base={"data_types": {"grad_accum_dtype": "bf16"}})
        assert cfg["data_types"]["grad_accum_dtype"] == "fp32"
        assert cfg["bf16"] == {"enabled": True}


def test_only_rank_0_copies_the_state_dict_at_export():
    model, _ = tiny_causal_lm(seed=0)
    opt = torch.optim.AdamW(model.parameters())
    main = Backend(model, opt, DistInfo(rank=0, world_size=1))
    assert main.state_dict_for_export().keys() == model.state_dict().keys()
    other = Backend(model, opt, DistInfo(rank=1, world_size=1))  # as a second rank sees itself
    with TensorMemory() as mem:
        assert other.state_dict_for_export() == {}
    assert mem.peak_bytes == 0

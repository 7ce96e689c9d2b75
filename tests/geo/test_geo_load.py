"""The vision-language recipes load their model as text SFT / DPO do (redstar.train.engine.
load_settings): in the training dtype under DeepSpeed, and under ZeRO-3 while the
HfDeepSpeedConfig object is held, so from_pretrained partitions the weights as they load."""

import weakref

import pytest
import torch

import geo.sft
import redstar.train.engine as engine
from geo.dataset import VLDataConfig
from geo.dpo import VLDPOConfig
from geo.dpo import run as run_dpo
from geo.sft import VLSFTConfig, load_vl_model
from geo.sft import run as run_sft
from redstar.train.engine import TrainConfig


class _Loaded(Exception):
    pass


class _Held:
    pass


@pytest.mark.parametrize("recipe", ["sft", "dpo"])
def test_vl_recipes_load_under_load_settings(tmp_path, monkeypatch, recipe):
    seen = {}

    def settings(tcfg, world_size):
        held = _Held()
        seen["held"] = weakref.ref(held)
        seen["settings"] = (tcfg.strategy, tcfg.zero_stage, tcfg.dtype, world_size)
        return "bfloat16", held

    def load(name, attn="sdpa", trust_remote_code=False, seed=0, dtype="float32"):
        seen["load"] = (name, dtype, seen["held"]() is not None)
        raise _Loaded

    monkeypatch.setattr(engine, "load_settings", settings)
    monkeypatch.setattr(geo.sft, "load_vl_model", load)
    train = TrainConfig(strategy="deepspeed", zero_stage=3, dtype="bfloat16", device="cpu", progress=False,
                        tensorboard=False)
    data = VLDataConfig(train=[str(tmp_path / "rows.jsonl")])
    cls, run = (VLSFTConfig, run_sft) if recipe == "sft" else (VLDPOConfig, run_dpo)
    with pytest.raises(_Loaded):
        run(cls(data=data, model="tiny:qwen2_vl", attn_implementation="sdpa", train=train, out=str(tmp_path / "run")))
    assert seen["settings"] == ("deepspeed", 3, "bfloat16", 1)
    assert seen["load"] == ("tiny:qwen2_vl", "bfloat16", True)     # loaded in its dtype, while it is held


def test_load_vl_model_in_the_given_dtype(tmp_path):
    from redstar.models import tiny_vl_model

    model, proc = tiny_vl_model("qwen2_vl")
    model.save_pretrained(tmp_path / "vl")
    proc.save_pretrained(tmp_path / "vl")
    for name in ("tiny:qwen2_vl", str(tmp_path / "vl")):
        loaded, _ = load_vl_model(name, dtype="bfloat16")
        assert {p.dtype for p in loaded.parameters()} == {torch.bfloat16}, name
    assert {p.dtype for p in load_vl_model(str(tmp_path / "vl"))[0].parameters()} == {torch.float32}

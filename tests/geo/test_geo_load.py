"""load_vl_model builds the model in the dtype the recipe asks for (the training dtype under
DeepSpeed, from redstar.train.engine.load_settings; tests/redstar/train/test_train_load_settings.py
checks that the recipes pass it)."""

import torch

from geo.sft import load_vl_model
from redstar.models import tiny_vl_model


def test_load_vl_model_in_the_given_dtype(tmp_path):
    model, proc = tiny_vl_model("qwen2_vl")
    model.save_pretrained(tmp_path / "vl")
    proc.save_pretrained(tmp_path / "vl")
    for name in ("tiny:qwen2_vl", str(tmp_path / "vl")):
        loaded, _ = load_vl_model(name, dtype="bfloat16")
        assert {p.dtype for p in loaded.parameters()} == {torch.bfloat16}, name
    assert {p.dtype for p in load_vl_model(str(tmp_path / "vl"))[0].parameters()} == {torch.float32}

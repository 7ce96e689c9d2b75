"""The attention kernel is chosen by what the model class supports, and the choice is said."""

import pytest
from transformers import Qwen2_5_VLForConditionalGeneration, Qwen2ForCausalLM, Qwen2VLForConditionalGeneration

from redstar.train import attention
from redstar.train.attention import choose_attention


@pytest.mark.parametrize("flash", [False, True])
def test_vision_language_models_without_flex_fall_back_to_sdpa_on_a_gpu(monkeypatch, flash):
    monkeypatch.setattr(attention, "has_flash_attn", lambda: flash)
    said = []
    for cls in (Qwen2VLForConditionalGeneration, Qwen2_5_VLForConditionalGeneration):
        got = choose_attention("auto", "cuda:0", cls, log=said.append)
        assert got == ("flash_attention_2" if flash else "sdpa"), cls
    # a text model that has flex attention keeps it when flash-attn is missing
    assert choose_attention("auto", "cuda:0", Qwen2ForCausalLM) == ("flash_attention_2" if flash else "flex_attention")
    if not flash:
        assert "flex attention not supported by Qwen2VLForConditionalGeneration" in said[0], said


def test_cpu_and_explicit_choices(monkeypatch):
    monkeypatch.setattr(attention, "has_flash_attn", lambda: False)
    said = []
    assert choose_attention("auto", "cpu", Qwen2VLForConditionalGeneration, log=said.append) == "sdpa"
    assert said == ["attention: sdpa (auto on the CPU)"]
    with pytest.raises(ValueError, match="does not support"):
        choose_attention("flex_attention", "cuda:0", Qwen2VLForConditionalGeneration)
    assert choose_attention("eager", "cuda:0", Qwen2VLForConditionalGeneration) == "eager"


def test_vl_recipe_resolves_its_model_class():
    from geo.sft import vl_model_class

    assert vl_model_class("tiny:qwen2_vl") is Qwen2VLForConditionalGeneration
    assert vl_model_class("tiny:qwen2_5_vl") is Qwen2_5_VLForConditionalGeneration

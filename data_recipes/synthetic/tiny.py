"""The world's tokenizer and a random tiny Qwen2 model, saved as a normal Hugging Face directory.

    tok = world_tokenizer(texts)                 # byte-level BPE trained on the world's text
    path = save_tiny_model("runs/tiny", texts)   # config, random weights, tokenizer, chat template

The tokenizer splits digits one by one (each step of a chain is then a lookup over single-digit
tokens), keeps ``<think>`` and ``</think>`` as ordinary tokens (they stay in decoded text) and
has the ChatML special tokens and chat template redstar's training and eval use. The model is a
Qwen2 decoder initialised from a seed, so the same settings give the same weights.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
THINK = ["<think>", "</think>"]

# hidden 64, 3 layers, 4 heads: about 0.22M parameters. Three layers, not two: the model must
# find each step's addend in the question by its label, and with two layers whether it learned
# that lookup within the laptop sweep's budget depended on the seed (hardest 512 rows scored 81,
# 29 and 31% on hard items over three seeds); with three, 99, 73 and 81%. The
# largest laptop-sweep cell (1,024 rows, ten epochs) trains in a few minutes on one CPU core.
MODEL_SHAPE = {"hidden_size": 64, "num_layers": 3, "num_heads": 4, "intermediate_size": 256}


def world_tokenizer(texts: Iterable[str], vocab_size: int = 512):
    """A byte-level BPE tokenizer trained on ``texts`` (digits never merge), with a ChatML
    chat template."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from redstar.models import CHATML_TEMPLATE

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in THINK])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>", bos_token=None, unk_token=None
    )
    fast.add_special_tokens({"additional_special_tokens": ["<|im_start|>"]})
    fast.chat_template = CHATML_TEMPLATE.read_text()
    return fast


def tiny_model(tok, seed: int = 0, shape: dict | None = None, max_positions: int = 512):
    """A random Qwen2 causal LM for ``tok``'s vocabulary."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    s = {**MODEL_SHAPE, **(shape or {})}
    cfg = Qwen2Config(
        vocab_size=len(tok),
        hidden_size=s["hidden_size"],
        intermediate_size=s["intermediate_size"],
        num_hidden_layers=s["num_layers"],
        num_attention_heads=s["num_heads"],
        num_key_value_heads=s["num_heads"],
        max_position_embeddings=max_positions,
        rope_theta=10000.0,  # short sequences: Qwen2's default 1e6 leaves most rotary pairs nearly still
        tie_word_embeddings=True,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(cfg)
    model.generation_config = GenerationConfig(
        eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, do_sample=False
    )
    return model


def save_tiny_model(out: str | Path, texts: Iterable[str], seed: int = 0, shape: dict | None = None) -> Path:
    """Train the tokenizer on ``texts``, build the random model and save both to ``out``."""
    out = Path(out)
    tok = world_tokenizer(texts)
    model = tiny_model(tok, seed=seed, shape=shape)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out

"""An outcome reward model: a causal LM backbone with a scalar linear head on the last token.

    rm, tok = RewardModel.from_causal_lm("default")          # head on SmolLM2, randomly initialised
    rm, tok = RewardModel.from_causal_lm(*tiny_causal_lm())   # from an in-memory model
    scores = rm(input_ids, attention_mask)                    # (B,) float32
    rm.save_pretrained("runs/rm/final", tok)
    rm, tok = RewardModel.from_pretrained("runs/rm/final")

AceMath's reward model is the instruct model with its LM head replaced by a linear map from the
last token's hidden state to one number. Where transformers has a ``*ForSequenceClassification``
class for the architecture (Llama, Qwen2, Mistral, ...), the model is stored as that class with
``num_labels=1``, so other stacks (TRL, OpenRLHF's HF loader, ``pipeline``) can read the
checkpoint unchanged. Other architectures (vision-language backbones, for instance) are stored
as the plain backbone plus ``reward_head.safetensors``. Either way ``reward_model.json`` says
which, and the score is read at the last position the attention mask keeps (right padding),
which with right padding is exactly the token transformers' own classifier pools (the last
token that is not the pad): the pad is made a token no scored sequence ends with, also where
the chat template ends every turn in eos and pad = eos (Llama-3), see ``distinct_pad``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

META_FILE = "reward_model.json"
HEAD_FILE = "reward_head.safetensors"


def _has_seqcls(config) -> bool:
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES,
    )

    return config.model_type in MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES


def _hidden_size(config) -> int:
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    return int(text.hidden_size)


def last_token_index(attention_mask: torch.Tensor) -> torch.Tensor:
    """(B, T) mask -> (B,) index of the last kept position (works for left or right padding)."""
    T = attention_mask.shape[-1]
    positions = torch.arange(T, device=attention_mask.device)  # (T,)
    return (positions * attention_mask.to(positions.dtype)).argmax(-1)  # (B,)


def load_saved_tokenizer(path: str | os.PathLike):
    """The tokenizer exactly as saved (see ``redstar.models.load_tokenizer``), so saved ids,
    hence saved scores, come back unchanged."""
    from redstar.models import load_tokenizer

    return load_tokenizer(str(path))


# tokens that pad and never end a scored sequence, tried in order before adding one
PAD_CANDIDATES = (
    "<|finetune_right_pad_id|>",
    "<|pad|>",
    "<pad>",
    "[PAD]",
    "<|endoftext|>",
    "<|reserved_special_token_0|>",
)


def _turn_end_ids(tokenizer) -> set[int]:
    """Token ids a scored sequence can end with: eos and the last token of a rendered turn."""
    ends = {tokenizer.eos_token_id} - {None}
    if getattr(tokenizer, "chat_template", None):
        try:
            ids = tokenizer.apply_chat_template(
                [{"role": "user", "content": "1"}, {"role": "assistant", "content": "2"}], tokenize=True
            )
            ids = ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids
            if ids:
                ends.add(int(ids[-1]))
        except Exception:  # a template that needs more than plain turns: eos alone
            pass
    return ends


def distinct_pad(rm, tokenizer) -> int:
    """Make the pad token one that no scored sequence ends with, in the tokenizer and in the
    model config, and return its id.

    Transformers' ``*ForSequenceClassification`` pools the last token that is not
    ``config.pad_token_id``; redstar pools the last one the attention mask keeps. They agree
    unless the sequence ends in the pad token, as with a Llama-3-style template (every turn
    ends in eos) and pad = eos. Then an unused pad-like special token takes the pad's place,
    or a new ``<|pad|>`` is added (its embedding row is never attended to)."""
    ends = _turn_end_ids(tokenizer)
    pad = tokenizer.pad_token_id
    if pad is None or pad in ends:
        vocab = tokenizer.get_vocab()
        choice = next((t for t in PAD_CANDIDATES if t in vocab and vocab[t] not in ends), None)
        if choice is None:
            tokenizer.add_special_tokens({"pad_token": "<|pad|>"})
            rm.body.resize_token_embeddings(len(tokenizer))
        else:
            tokenizer.pad_token = choice
        pad = tokenizer.pad_token_id
    for cfg in {
        id(c): c
        for c in (rm.config, rm.config.get_text_config() if hasattr(rm.config, "get_text_config") else rm.config)
    }.values():
        cfg.pad_token_id = pad
    return pad


class RewardModel(torch.nn.Module):
    """``backbone`` (a transformers base model returning ``last_hidden_state``) + ``head``
    (Linear(H, 1, bias=False)). ``hf`` is the full ``*ForSequenceClassification`` model when
    the architecture has one (then backbone and head are its submodules), else None."""

    def __init__(self, backbone, head: torch.nn.Linear, hf=None):
        super().__init__()
        self.hf = hf
        if hf is None:
            self.backbone, self.head = backbone, head
        else:
            # Registered once, through hf, so state_dict keys match the transformers checkpoint.
            self._parts = (backbone, head)

    # -------------------------------------------------------------- structure
    @property
    def body(self):
        return self.backbone if self.hf is None else self._parts[0]

    @property
    def score_head(self) -> torch.nn.Linear:
        return self.head if self.hf is None else self._parts[1]

    @property
    def config(self):
        return self.hf.config if self.hf is not None else self.backbone.config

    @property
    def format(self) -> str:
        return "sequence_classification" if self.hf is not None else "backbone_head"

    def gradient_checkpointing_enable(self, **kwargs) -> None:
        (self.hf if self.hf is not None else self.backbone).gradient_checkpointing_enable(**kwargs)

    # -------------------------------------------------------------- forward
    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **kwargs) -> torch.Tensor:
        """input_ids, attention_mask: (B, T) -> rewards (B,) in float32."""
        out = self.body(input_ids=input_ids, attention_mask=attention_mask, use_cache=False, **kwargs)
        hidden = out.last_hidden_state  # (B, T, H)
        idx = last_token_index(attention_mask)  # (B,)
        last = hidden[torch.arange(hidden.shape[0], device=hidden.device), idx]  # (B, H)
        return self.score_head(last).squeeze(-1).float()  # (B,)

    # -------------------------------------------------------------- building
    @classmethod
    def from_causal_lm(cls, model_or_path, tokenizer=None, head: str = "auto", dtype: str | None = "float32"):
        """A reward model whose backbone is a causal LM's (a path, hub id, 'default', or an
        in-memory model with its tokenizer); the head is new. ``head``: 'auto' (the
        architecture's sequence-classification class where it exists), 'seqcls', 'wrapper'."""
        from transformers import AutoModel, AutoModelForSequenceClassification

        from redstar.models import _dtype, resolve_model_path

        if head not in ("auto", "seqcls", "wrapper"):
            raise ValueError(f"head must be 'auto', 'seqcls' or 'wrapper', got {head!r}")
        if isinstance(model_or_path, (str, os.PathLike)):
            path = resolve_model_path(str(model_or_path))
            tokenizer = tokenizer or load_saved_tokenizer(path)
            from transformers import AutoConfig

            config = AutoConfig.from_pretrained(path)
            use_seqcls = head == "seqcls" or (head == "auto" and _has_seqcls(config))
            if use_seqcls:
                hf = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1, dtype=_dtype(dtype))
                rm = cls._wrap_seqcls(hf)
            else:
                backbone = AutoModel.from_pretrained(path, dtype=_dtype(dtype))
                rm = cls._new_wrapper(backbone)
        else:
            causal = model_or_path
            if tokenizer is None:
                raise ValueError("an in-memory model needs its tokenizer")
            config = causal.config.__class__.from_dict(causal.config.to_dict())
            use_seqcls = head == "seqcls" or (head == "auto" and _has_seqcls(config))
            base = getattr(causal, causal.base_model_prefix)
            if use_seqcls:
                config.num_labels = 1
                hf = AutoModelForSequenceClassification.from_config(config)
                getattr(hf, hf.base_model_prefix).load_state_dict(base.state_dict())
                hf.to(next(causal.parameters()).dtype)
                rm = cls._wrap_seqcls(hf)
            else:
                backbone = AutoModel.from_config(config)
                backbone.load_state_dict(base.state_dict())
                backbone.to(next(causal.parameters()).dtype)
                rm = cls._new_wrapper(backbone)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        distinct_pad(rm, tokenizer)
        return rm, tokenizer

    @classmethod
    def _wrap_seqcls(cls, hf):
        if hf.config.num_labels != 1:
            raise ValueError(f"a reward model has one output, this classifier has {hf.config.num_labels}")
        return cls(getattr(hf, hf.base_model_prefix), hf.score, hf=hf)

    @classmethod
    def _new_wrapper(cls, backbone):
        H = _hidden_size(backbone.config)
        head = torch.nn.Linear(H, 1, bias=False)
        torch.nn.init.normal_(head.weight, std=1.0 / (H + 1) ** 0.5)
        head.to(next(backbone.parameters()).dtype)
        return cls(backbone, head)

    # -------------------------------------------------------------- save / load
    def get_input_embeddings(self):
        return self.body.get_input_embeddings()

    def get_output_embeddings(self):
        return None  # no LM head: the scalar head is not a vocabulary projection

    def save_pretrained(
        self,
        out_dir: str | os.PathLike,
        tokenizer=None,
        extra: dict | None = None,
        state_dict: dict | None = None,
        **kwargs,
    ) -> Path:
        """Write a Hugging Face directory (weights, config, tokenizer, ``reward_model.json``).

        ``state_dict`` (keys of this module, e.g. gathered from ZeRO-3 shards by the training
        engine's export) replaces the live weights, as in transformers' ``save_pretrained``."""
        from safetensors.torch import save_file

        from redstar.dataio import write_json

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        if state_dict is None:
            state_dict = self.state_dict()

        def sub(prefix: str) -> dict:
            return {k[len(prefix) :]: v for k, v in state_dict.items() if k.startswith(prefix)}

        if self.hf is not None:
            self.hf.save_pretrained(out, state_dict=sub("hf."), **kwargs)
        else:
            self.backbone.save_pretrained(out, state_dict=sub("backbone."), **kwargs)
            head = sub("head.")["weight"]
            save_file({"weight": head.detach().contiguous().cpu()}, str(out / HEAD_FILE))
        if tokenizer is not None:
            tokenizer.save_pretrained(out)
        meta = {
            "format": self.format,
            "pooling": "last token kept by the attention mask",
            "hidden_size": _hidden_size(self.config),
            **(extra or {}),
        }
        write_json(out / META_FILE, meta)
        return out

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, dtype: str | None = "float32", device: str | None = None):
        """(RewardModel, tokenizer) from a directory written by ``save_pretrained`` or any
        transformers ``*ForSequenceClassification`` checkpoint with one label."""
        from transformers import AutoModel, AutoModelForSequenceClassification

        from redstar.models import _dtype

        path = Path(path)
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"{path}: not a reward-model directory (no config.json)")
        meta = json.loads((path / META_FILE).read_text()) if (path / META_FILE).is_file() else {}
        if meta.get("format") == "backbone_head":
            from safetensors.torch import load_file

            if not (path / HEAD_FILE).is_file():
                raise FileNotFoundError(f"{path}: {META_FILE} names a separate head but {HEAD_FILE} is missing")
            backbone = AutoModel.from_pretrained(path, dtype=_dtype(dtype))
            rm = cls._new_wrapper(backbone)
            rm.head.weight.data.copy_(load_file(str(path / HEAD_FILE))["weight"])
        else:
            rm = cls._wrap_seqcls(AutoModelForSequenceClassification.from_pretrained(path, dtype=_dtype(dtype)))
        if device:
            rm.to(device)
        rm.eval()
        return rm, load_saved_tokenizer(path)

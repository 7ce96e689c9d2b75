"""Reward model: head on the last kept token, Hugging Face save/reload, batching invariance."""

import json

import pytest
import torch

from redstar.models import tiny_causal_lm
from redstar.rm.data import PairEncoder, pad_batch
from redstar.rm.model import META_FILE, RewardModel
from redstar.rm.score import RewardScorer

PAIRS = [
    ("What is 2 + 3?", "2 + 3 = 5, so the answer is \\boxed{5}."),
    ("What is 2 + 3?", "Hmm, 2 + 3 = 6. \\boxed{6}"),
    ("Let $f(x) = x^2$. Find f(3).", "f(3) = 9. The answer is \\boxed{9}, checked twice over."),
]


def _batch(tok):
    enc = PairEncoder(tok, max_len=256)
    return pad_batch([enc(q, r) for q, r in PAIRS], tok.pad_token_id)


@pytest.mark.parametrize("head", ["seqcls", "wrapper"])
def test_save_reload_gives_identical_scores(tmp_path, head):
    rm, tok = RewardModel.from_causal_lm(*tiny_causal_lm(seed=1), head=head)
    rm.eval()
    ids, mask = _batch(tok)  # (3, T)
    with torch.no_grad():
        before = rm(ids, mask)  # (3,)
    assert before.shape == (3,) and before.dtype == torch.float32
    rm.save_pretrained(tmp_path / "rm", tok)
    meta = json.loads((tmp_path / "rm" / META_FILE).read_text())
    assert meta["format"] == ("sequence_classification" if head == "seqcls" else "backbone_head")
    again, tok2 = RewardModel.from_pretrained(tmp_path / "rm")
    with torch.no_grad():
        after = again(*_batch(tok2))
    assert torch.equal(before, after)


def _assert_transformers_classifier_agrees(rm, tok, rm_dir, hf_tok=None):
    """AutoModelForSequenceClassification loaded from ``rm_dir`` gives ``rm``'s scores on PAIRS
    (``hf_tok``: the tokenizer the other stack loads, default ``tok``)."""
    from transformers import AutoModelForSequenceClassification

    hf = AutoModelForSequenceClassification.from_pretrained(rm_dir).eval()
    ids, mask = _batch(tok)
    hf_ids, hf_mask = _batch(hf_tok or tok)
    with torch.no_grad():
        ours = rm.eval()(ids, mask)
        theirs = hf(input_ids=hf_ids, attention_mask=hf_mask).logits.squeeze(-1)
    torch.testing.assert_close(ours, theirs)


def test_seqcls_checkpoint_matches_transformers_classifier(tmp_path):
    """Other stacks read the checkpoint with AutoModelForSequenceClassification: same numbers."""
    rm, tok = RewardModel.from_causal_lm(*tiny_causal_lm(seed=2))
    rm.save_pretrained(tmp_path / "rm", tok)
    _assert_transformers_classifier_agrees(rm, tok, tmp_path / "rm")


def test_backbone_is_the_causal_lm_and_padding_does_not_change_scores():
    causal, tok = tiny_causal_lm(seed=3)
    rm, _ = RewardModel.from_causal_lm(causal, tok)
    for name, p in causal.model.state_dict().items():
        assert torch.equal(p, rm.body.state_dict()[name])
    scorer = RewardScorer(rm, tok, batch_size=3, progress=False, device="cpu")
    batched = scorer.score([q for q, _ in PAIRS], [r for _, r in PAIRS])
    one_by_one = [
        RewardScorer(rm, tok, batch_size=1, progress=False, device="cpu").score([q], [r])[0] for q, r in PAIRS
    ]
    assert batched == pytest.approx(one_by_one, abs=1e-5)


def test_truncation_keeps_prompt_start_and_response_end():
    _, tok = tiny_causal_lm()
    enc = PairEncoder(tok, max_len=40)
    long = "step " * 200 + "so the answer is \\boxed{7}."
    ids = enc("What is 3 + 4?", long)
    assert len(ids) == 40 and enc.truncated == 1
    text = tok.decode(ids)
    assert text.startswith("<|im_start|>system") and text.endswith("\\boxed{7}.<|im_end|>\n")


def test_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no config.json"):
        RewardModel.from_pretrained(tmp_path)


LLAMA3_STYLE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n\n{{ m['content'] }}<|im_end|>{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n\n{% endif %}"
)


@pytest.mark.parametrize("source", ["memory", "directory"])
def test_transformers_classifier_scores_the_same_token_when_the_template_ends_in_the_pad(tmp_path, source):
    """A Llama-3-style template ends every turn with the eos token, and the tokenizer pads
    with eos: transformers' classifier would pool the last token that is not the pad (the
    one before the final eos) while redstar pools the last kept one. The saved checkpoint
    must make both pick the same position."""
    causal, tok = tiny_causal_lm(seed=2)
    tok.chat_template = LLAMA3_STYLE
    tok.pad_token = tok.eos_token  # pad = eos, as Llama-3 setups do
    causal.config.pad_token_id = tok.eos_token_id
    if source == "directory":
        causal.save_pretrained(tmp_path / "lm")
        tok.save_pretrained(tmp_path / "lm")
        rm, tok = RewardModel.from_causal_lm(str(tmp_path / "lm"))
    else:
        rm, tok = RewardModel.from_causal_lm(causal, tok)
    rm.save_pretrained(tmp_path / "rm", tok)
    ids, mask = _batch(tok)
    assert bool((ids[mask.bool()] == tok.eos_token_id).any())  # the turns end in eos
    from redstar.rm.model import load_saved_tokenizer

    _assert_transformers_classifier_agrees(rm, tok, tmp_path / "rm", hf_tok=load_saved_tokenizer(tmp_path / "rm"))

import pytest
import torch
from PIL import Image

from redstar.generation import GenerationConfig, Request, make_backend
from redstar.models import tiny_causal_lm, tiny_vl_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny():
    return tiny_causal_lm(seed=1)


def _reqs():
    qs = ["What is 7 * 8?", "Let f(x) = x^2 + 2x + 1. Compute f(3) and explain every step.", "1+1?"]
    return [Request(id=f"q{i}", messages=[{"role": "user", "content": q}]) for i, q in enumerate(qs)]


def _reference_greedy(model, tok, req, max_new):
    """One prompt at a time, no padding, straight through model.generate."""
    enc = tok.apply_chat_template(req.messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=max_new, do_sample=False, pad_token_id=tok.pad_token_id)
    return tok.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)


def test_batched_left_padded_greedy_matches_one_by_one(tiny):
    model, tok = tiny
    b = make_backend("hf", model=model, tokenizer=tok, batch_size=3, progress=False)
    outs = b.generate(_reqs(), GenerationConfig(max_new_tokens=12, n=2))
    assert tok.padding_side == "left"
    for req, got in zip(_reqs(), outs):
        assert got == [_reference_greedy(model, tok, req, 12)] * 2


def test_sampling_n_seeded_and_in_order(tiny):
    model, tok = tiny
    b = make_backend("hf", model=model, tokenizer=tok, batch_size=2, progress=False)
    cfg = GenerationConfig(n=3, temperature=1.0, top_p=0.9, max_new_tokens=8, seed=5)
    a = b.generate(_reqs(), cfg)
    assert [len(x) for x in a] == [3, 3, 3]
    assert len(set(a[1])) > 1  # a random tiny model samples different continuations
    assert b.generate(_reqs(), cfg) == a  # same seed, same samples
    assert b.generate(_reqs(), GenerationConfig(n=3, temperature=1.0, max_new_tokens=8, seed=6)) != a


def test_stop_strings_cut_the_output(tiny):
    model, tok = tiny
    b = make_backend("hf", model=model, tokenizer=tok, progress=False)
    cfg = dict(max_new_tokens=24, temperature=1.0, seed=11)
    full = b.generate(_reqs()[:1], GenerationConfig(**cfg))[0][0]
    # a stop string from the middle of the sampled text (same seed: same text up to the stop)
    pos = next(i for i in range(4, len(full) - 2) if full.find(full[i : i + 2]) == i and full[i : i + 2].strip())
    stop = full[pos : pos + 2]
    cut = b.generate(_reqs()[:1], GenerationConfig(**cfg, stop=[stop]))[0][0]
    assert cut == full[:pos]


def test_images_need_a_vision_model(tiny):
    model, tok = tiny
    b = make_backend("hf", model=model, tokenizer=tok, progress=False)
    with pytest.raises(ValueError, match="has images but the model has no image processor"):
        b.generate([Request(id="x", messages=[{"role": "user", "content": "?"}], images=["a.png"])], GenerationConfig())


def test_vision_language_model_from_directory(tmp_path):
    model, proc = tiny_vl_model("qwen2_vl")
    model.save_pretrained(tmp_path / "vl")
    proc.save_pretrained(tmp_path / "vl")
    img = tmp_path / "fig.png"
    Image.new("RGB", (64, 48), "white").save(img)
    b = make_backend("hf", model=str(tmp_path / "vl"), batch_size=2, progress=False)
    assert b.processor is not None
    reqs = [
        Request(id="a", messages=[{"role": "user", "content": "Find angle A."}], images=[str(img)]),
        Request(
            id="b",
            messages=[{"role": "user", "content": "Longer question about the side BC?"}],
            images=[Image.new("RGB", (30, 30), "black")],
        ),
        Request(id="c", messages=[{"role": "user", "content": "No figure."}]),
    ]
    outs = b.generate(reqs, GenerationConfig(max_new_tokens=5))
    assert [len(o) for o in outs] == [1, 1, 1] and all(isinstance(o[0], str) for o in outs)
    # the batched answer for 'a' equals the answer it gets alone
    assert b.generate(reqs[:1], GenerationConfig(max_new_tokens=5))[0] == outs[0]
    with pytest.raises(FileNotFoundError, match="missing.png"):
        b.generate(
            [Request(id="m", messages=[{"role": "user", "content": "?"}], images=[str(tmp_path / "missing.png")])],
            GenerationConfig(max_new_tokens=2),
        )


def test_bad_config_values():
    with pytest.raises(ValueError, match="n must be >= 1"):
        GenerationConfig(n=0)
    with pytest.raises(ValueError, match="top_p"):
        GenerationConfig(top_p=0)
    with pytest.raises(ValueError, match="unknown generation backend"):
        make_backend("tgi")


def test_stop_string_is_matched_in_the_completion_only(tiny):
    """The chat template ends with a newline; a "\\n\\n" stop must not fire on the first
    generated newline (transformers' stop_strings would), but after two."""
    model, tok = tiny
    b = make_backend("hf", model=model, tokenizer=tok, progress=False)
    full = b.generate(_reqs()[:1], GenerationConfig(max_new_tokens=6))[0][0]
    assert full.startswith("\n\n")  # this tiny model's greedy answer, checked so the test means something
    assert b.generate(_reqs()[:1], GenerationConfig(max_new_tokens=6, stop=["\n\n"]))[0][0] == ""


def test_finish_reasons_length_at_the_limit_stop_at_an_end_token(tiny):
    from redstar.generation import finish_reason

    model, tok = tiny
    b = make_backend("hf", model=model, tokenizer=tok, batch_size=2, progress=False)
    reqs = _reqs()
    cut = b.generate(reqs, GenerationConfig(max_new_tokens=3))
    # the reference: a row still generating at the limit has three new tokens, none an end token
    for r, o in zip(reqs, cut):
        enc = tok.apply_chat_template(r.messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        with torch.no_grad():
            ids = model.generate(**enc, max_new_tokens=3, do_sample=False, pad_token_id=tok.pad_token_id)
        new = ids[0, enc["input_ids"].shape[1] :].tolist()
        want = "length" if len(new) == 3 and new[-1] not in (tok.eos_token_id, tok.pad_token_id) else "stop"
        assert finish_reason(o[0]) == want
    assert "length" in {finish_reason(o[0]) for o in cut}
    # make each prompt's first greedy token the end token: generation stops at once
    first = b.generate(reqs[:1], GenerationConfig(max_new_tokens=1))[0][0]
    first_id = tok(first, add_special_tokens=False)["input_ids"][0]
    saved = model.generation_config.eos_token_id
    model.generation_config.eos_token_id = first_id
    try:
        stopped = b.generate(reqs[:1], GenerationConfig(max_new_tokens=3))[0][0]
    finally:
        model.generation_config.eos_token_id = saved
    assert finish_reason(stopped) == "stop"

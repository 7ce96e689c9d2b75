"""VL encoding and packing: assistant-only labels, multi-image rows, packed == unpacked."""

import pytest
import torch

from geo.collate import VLCollator, encode_chat, model_inputs, vl_messages
from geo.dataset import VLDataConfig, encode_rows
from geo.generator import generate, write_problems
from geo.images import set_processor_pixels
from geo.sft import load_vl_model, sft_rows_from_problems
from redstar.dataio import read_jsonl, write_jsonl
from redstar.models import tiny_vl_model
from redstar.records import RowError


@pytest.fixture(scope="module")
def problems():
    return generate(4, seed=5)


def _token_logprobs(model, batch):
    """Reference per-target log-probabilities from full logits (no chunking)."""
    h = model.model(**model_inputs(batch), use_cache=False).last_hidden_state  # [B, T, H]
    logp = torch.log_softmax((h @ model.get_output_embeddings().weight.t()).float(), -1)
    keep = batch["labels"] != -100
    return logp[keep].gather(1, batch["labels"][keep][:, None]).squeeze(1)  # [n_targets]


def test_vl_messages_placeholders():
    msgs = vl_messages(
        [{"role": "user", "content": "Compare <image> and <image> please"}, {"role": "assistant", "content": "ok"}], 2
    )
    assert [p["type"] for p in msgs[0]["content"]] == ["text", "image", "text", "image", "text"]
    msgs = vl_messages([{"role": "user", "content": "Find x."}, {"role": "assistant", "content": "3"}], 1)
    assert msgs[0]["content"][0] == {"type": "image"}
    with pytest.raises(RowError, match="1 image placeholder.*2 image"):
        vl_messages([{"role": "user", "content": "<image> x"}, {"role": "assistant", "content": "3"}], 2)


def test_labels_cover_only_the_reply_and_multi_image(problems):
    _, proc = tiny_vl_model("qwen2_vl")
    rows, imgs = problems
    msgs = [
        {"role": "user", "content": "<image> and <image>\n" + rows[0]["question"]},
        {"role": "assistant", "content": rows[0]["solution"]},
    ]
    ex = encode_chat(msgs, [imgs[0], imgs[1]], proc)
    tok = proc.tokenizer
    target = tok.decode([t for t, y in zip(ex["input_ids"], ex["labels"]) if y != -100])
    assert target == rows[0]["solution"] + "<|im_end|>"
    pad = tok.convert_tokens_to_ids("<|image_pad|>")
    n_pad = sum(t == pad for t in ex["input_ids"])
    assert ex["image_grid_thw"].shape == (2, 3)
    assert n_pad == int(ex["image_grid_thw"].prod(-1).sum()) // 4  # 2x2 merge
    assert all(y == -100 for t, y in zip(ex["input_ids"], ex["labels"]) if t == pad)


@pytest.mark.parametrize("kind", ["qwen2_vl", "qwen2_5_vl", "internvl"])
def test_packed_equals_unpacked(kind, problems):
    model, proc = load_vl_model(f"tiny:{kind}", attn="sdpa")
    set_processor_pixels(proc, max_pixels=28 * 28 * 16)  # 2x2 merged grids: still 2-D positions, fewer tokens
    model.eval()
    rows, imgs = problems
    exs = [
        encode_chat(
            [{"role": "user", "content": "<image>\n" + r["question"]}, {"role": "assistant", "content": r["solution"]}],
            [im],
            proc,
        )
        for r, im in zip(rows, imgs)
    ]
    exs.insert(
        1,
        encode_chat(
            [
                {"role": "user", "content": "What is 7 * 8?"},
                {"role": "assistant", "content": "The answer is \\boxed{56}."},
            ],
            [],
            proc,
        ),
    )
    # a two-image row: both grids inside one sample's positions
    exs.append(
        encode_chat(
            [
                {"role": "user", "content": "<image> <image> Which figure has a circle?"},
                {"role": "assistant", "content": "The second, \\boxed{B}."},
            ],
            [imgs[0], imgs[3]],
            proc,
        )
    )
    packed = VLCollator(proc, model, pack=True)(exs)
    padded = VLCollator(proc, model, pack=False)(exs)
    mrope = kind != "internvl"  # InternVL rotates with plain 1-D positions
    assert packed["input_ids"].shape[0] == 1
    assert packed["position_ids"].shape[:2] == ((4, 1) if mrope else (1, packed["input_ids"].shape[1]))
    assert packed["num_targets"] == padded["num_targets"]
    with torch.no_grad():
        a, b = _token_logprobs(model, packed), _token_logprobs(model, padded)
        assert torch.allclose(a, b, atol=1e-5), (a - b).abs().max()
        if mrope:
            # control: plain 1-D positions in the pack (what a text packer would give) differ
            flat = dict(packed, position_ids=packed["position_ids"][0])
            assert not torch.allclose(_token_logprobs(model, flat), b, atol=1e-3)
    # gradients agree too
    model.zero_grad()
    _token_logprobs(model, packed).sum().backward()
    g_packed = [p.grad.clone() for p in model.parameters() if p.grad is not None]
    model.zero_grad()
    _token_logprobs(model, padded).sum().backward()
    g_padded = [p.grad.clone() for p in model.parameters() if p.grad is not None]
    assert all(torch.allclose(x, y, atol=1e-4, rtol=1e-3) for x, y in zip(g_packed, g_padded))


@pytest.mark.parametrize("kind", ["qwen2_vl", "internvl"])
def test_lazy_items_give_the_processor_tensors(tmp_path, kind):
    """Images are decoded again per batch; the tensors must be the ones encoding saw."""
    _, proc = load_vl_model(f"tiny:{kind}", attn="sdpa")
    path = write_problems(tmp_path, 2, seed=1, progress=False)
    write_jsonl(tmp_path / "sft.jsonl", sft_rows_from_problems(read_jsonl(path)))
    items, stats = encode_rows(VLDataConfig(train=[str(tmp_path / "sft.jsonl")]), proc, "sft", progress=False)
    assert stats["rows"] == 2 and stats["images"] == 2
    row = read_jsonl(tmp_path / "sft.jsonl")[1]
    from geo.images import load_row_images

    direct = encode_chat(row["messages"], load_row_images(row["images"], tmp_path), proc)
    lazy = items[1][0]
    assert lazy["input_ids"] == direct["input_ids"] and lazy["labels"] == direct["labels"]
    assert torch.equal(lazy["pixel_values"], direct["pixel_values"])


def test_packed_positions_never_fall_back_silently(problems):
    """A sample with images but no mm_token_type_ids (what a transformers 4.57 processor gives)
    and a get_rope_index that cannot read them are errors, not 0..n positions."""
    from geo.collate import rope_index_fn, sample_positions
    from redstar.config import ConfigError

    model, proc = tiny_vl_model("qwen2_vl")
    rows, imgs = problems
    msgs = [{"role": "user", "content": "<image>\n" + rows[0]["question"]}, {"role": "assistant", "content": "3"}]
    ex = encode_chat(msgs, [imgs[0]], proc)
    assert "mm_token_type_ids" in ex  # the installed transformers gives them
    rope = rope_index_fn(model)
    pos = sample_positions(ex, rope)
    n = len(ex["input_ids"])
    assert not torch.equal(pos, torch.arange(n).view(1, 1, -1).expand(3, 1, -1))  # image tokens: 3-D positions
    old = {k: v for k, v in ex.items() if k != "mm_token_type_ids"}
    with pytest.raises(ConfigError, match=r"needs transformers >= 5\.3 .*no mm_token_type_ids"):
        sample_positions(old, rope)
    with pytest.raises(ConfigError, match=r"pip install 'transformers>=5\.3,<6'"):
        VLCollator(proc, model, pack=True)([old])
    text_only = {k: v for k, v in old.items() if k not in ("image_grid_thw", "pixel_values")}
    assert torch.equal(sample_positions(text_only, rope)[0, 0], torch.arange(n))  # text: 0..n-1, no error

    class Old:  # get_rope_index as transformers 4.57 declares it
        def get_rope_index(self, input_ids, image_grid_thw=None, video_grid_thw=None, attention_mask=None):
            raise AssertionError("never called")

    with pytest.raises(ConfigError, match="get_rope_index takes no mm_token_type_ids"):
        rope_index_fn(Old())


def test_pyproject_requires_the_transformers_that_gives_mm_token_type_ids():
    import re
    from pathlib import Path

    from geo.collate import MIN_TRANSFORMERS

    text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert re.search(rf'"transformers>={re.escape(MIN_TRANSFORMERS)}(,|")', text)

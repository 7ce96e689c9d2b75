"""The model helpers tests and the demo share: tiny random models and the embedded default."""

import pytest
import torch

from redstar.models import load_causal_lm, load_tokenizer, tiny_causal_lm, tiny_vl_model


def _train_step(model, batch):
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    loss = model(**batch, labels=batch["input_ids"]).loss
    loss.backward()
    opt.step()
    changed = [n for n, p in model.named_parameters() if not torch.equal(before[n], p.detach())]
    return loss, changed


def test_tiny_causal_lm_forward_train_save_reload(tmp_path):
    from transformers import AutoModelForCausalLM

    model, tok = tiny_causal_lm()
    msgs = [{"role": "user", "content": "What is 2+3?"}, {"role": "assistant", "content": "\\boxed{5}"}]
    enc = tok.apply_chat_template(msgs, return_dict=True, return_assistant_tokens_mask=True, return_tensors="pt")
    # Only the assistant reply (and its end token) is marked as target.
    target = tok.decode(enc["input_ids"][0][enc["assistant_masks"][0].bool()])
    assert target == "\\boxed{5}<|im_end|>"
    batch = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
    loss, changed = _train_step(model, batch)
    assert torch.isfinite(loss) and len(changed) == len(list(model.parameters()))
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    model2 = AutoModelForCausalLM.from_pretrained(tmp_path)
    tok2 = load_tokenizer(str(tmp_path))
    assert tok2.apply_chat_template(msgs, tokenize=False) == tok.apply_chat_template(msgs, tokenize=False)
    text = "2+3 = 5, so \\boxed{42}."
    assert tok2(text).input_ids == tok(text).input_ids  # the saved ids come back unchanged
    model.eval(), model2.eval()
    with torch.no_grad():
        assert torch.equal(model(**batch).logits, model2(**batch).logits)


@pytest.mark.parametrize("kind", ["qwen2_vl", "qwen2_5_vl"])
def test_tiny_vl_model_forward_train_save_reload(tmp_path, kind):
    from PIL import Image
    from transformers import AutoModelForImageTextToText, AutoProcessor

    model, proc = tiny_vl_model(kind)
    msgs = [
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Find angle A."}]},
        {"role": "assistant", "content": "60°"},
    ]
    text = proc.apply_chat_template(msgs, tokenize=False)
    batch = proc(text=[text], images=[Image.new("RGB", (70, 50), "white")], return_tensors="pt")
    n_image_tokens = int((batch["input_ids"] == model.config.image_token_id).sum())
    # 70x50 resized to a multiple of 28 (56x56 -> 4x4 patches -> 2x2 merged = 4 tokens)
    assert n_image_tokens == batch["image_grid_thw"].prod().item() // 4
    loss, changed = _train_step(model, dict(batch))
    assert torch.isfinite(loss)
    assert any(n.startswith(("visual", "model.visual")) for n in changed)
    model.save_pretrained(tmp_path)
    proc.save_pretrained(tmp_path)
    model2 = AutoModelForImageTextToText.from_pretrained(tmp_path)
    proc2 = AutoProcessor.from_pretrained(tmp_path)
    batch2 = proc2(text=[text], images=[Image.new("RGB", (70, 50), "white")], return_tensors="pt")
    assert torch.equal(batch["input_ids"], batch2["input_ids"])
    model.eval(), model2.eval()
    with torch.no_grad():
        assert torch.equal(model(**batch).logits, model2(**batch2).logits)


def test_default_model_generates_saves_and_reloads(tmp_path):
    """SmolLM2-135M-Instruct from the shipped GGUF: answer a question, save, reload, same logits."""
    from transformers import AutoModelForCausalLM

    from redstar.ask import answer

    model, tok = load_causal_lm("default")
    assert model.config.vocab_size == 49152 and model.dtype == torch.float32
    reply = answer(model, tok, "What is 2+3?", max_new_tokens=8)
    assert isinstance(reply, str) and reply
    model.save_pretrained(tmp_path)
    model2 = AutoModelForCausalLM.from_pretrained(tmp_path)
    ids = tok("The answer is", return_tensors="pt")
    with torch.no_grad():
        assert torch.equal(model(**ids).logits, model2(**ids).logits)


def test_default_gguf_direct_load_detaches_quantizer(tmp_path):
    from transformers import AutoModelForCausalLM

    from redstar.models import default_gguf_path, detach_quantizer

    gguf = default_gguf_path()
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    detach_quantizer(model)
    model.save_pretrained(tmp_path)
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path)
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        assert torch.equal(model(ids).logits, reloaded(ids).logits)


def test_bad_model_path_is_clear(tmp_path):
    from redstar.models import ModelNotFound

    with pytest.raises(ModelNotFound, match="no config.json"):
        load_causal_lm(str(tmp_path))


@pytest.mark.parametrize("command", ["sft", "dpo"])
def test_uncached_hub_model_offline_names_the_model(command, tmp_path, monkeypatch, capsys):
    from pathlib import Path

    from huggingface_hub import constants

    from redstar.cli import main
    from redstar.models import ModelNotFound, resolve_model_path

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))  # an empty hub cache
    name = "nobody-here/uncached-model-xyz"
    with pytest.raises(ModelNotFound, match=f"^model '{name}': not a local directory and not in the hub cache"):
        resolve_model_path(name)
    config = Path(__file__).resolve().parents[2] / "configs" / f"{command}_tiny_cpu.yaml"
    assert main([command, str(config), f"model={name}", f"out={tmp_path / 'run'}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"error: model '{name}': not a local directory" in err and "HF_HUB_OFFLINE=1" in err
    # once cached (config.json under the ref's snapshot), the id passes through to the loader
    repo = tmp_path / "hub" / "models--nobody-here--uncached-model-xyz"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0" * 40)
    (repo / "snapshots" / ("0" * 40)).mkdir(parents=True)
    (repo / "snapshots" / ("0" * 40) / "config.json").write_text("{}")
    assert resolve_model_path(name) == name
    with pytest.raises(ModelNotFound, match="not a hub id 'owner/name'"):
        resolve_model_path("no-such-dir-or-hub-id")

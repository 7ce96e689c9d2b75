"""VL SFT end to end through `redstar sft` (modality: vision) on tiny random Qwen2-VL models."""

import json

import pytest
import torch
import yaml

from geo.freeze import FreezeConfig, apply_freeze, count_parameters, part_of
from geo.generator import write_problems
from geo.sft import sft_rows_from_problems
from redstar.cli import main
from redstar.dataio import write_jsonl
from redstar.models import tiny_vl_model
from tests.redstar.train.train_fixtures import quiet_train


def _data(tmp_path, n=6):
    probs = [json.loads(x) for x in write_problems(tmp_path / "d", n, seed=2, progress=False).read_text().splitlines()]
    write_jsonl(tmp_path / "d" / "sft.jsonl", sft_rows_from_problems(probs))
    return tmp_path / "d" / "sft.jsonl"


def _config(tmp_path, data, kind="qwen2_vl", **train):
    cfg = {
        "modality": "vision",
        "model": f"tiny:{kind}",
        "out": str(tmp_path / "run"),
        "attn_implementation": "sdpa",
        "data": {"train": [str(data)], "max_len": 512, "pack_len": 1024, "max_pixels": 28 * 28 * 16},
        "freeze": {"train_vision": False, "train_projector": True, "train_language": True},
        "train": {**quiet_train(lr=2e-3, schedule="constant", epochs=4, device="cpu", seed=0), **train},
    }
    path = tmp_path / "geo_sft.yaml"
    path.write_text("# schema: geo.sft:VLSFTConfig\n" + yaml.safe_dump(cfg))
    return path


def _losses(run_dir):
    return [json.loads(x)["loss"] for x in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("kind", ["qwen2_vl", "qwen2_5_vl"])
@pytest.mark.integration
def test_vl_sft_cli_trains_unfrozen_parts_and_reloads(tmp_path, kind):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    data = _data(tmp_path)
    assert main(["sft", str(_config(tmp_path, data, kind))]) == 0
    losses = _losses(tmp_path / "run")
    assert sum(losses[-2:]) / 2 < sum(losses[:2]) / 2 - 0.05, losses
    final = tmp_path / "run" / "final"
    trained = AutoModelForImageTextToText.from_pretrained(final)
    proc = AutoProcessor.from_pretrained(final)
    assert proc.image_processor.size["longest_edge"] == 28 * 28 * 16
    start, _ = tiny_vl_model(kind, seed=0)  # the same random init the run started from
    after = dict(trained.named_parameters())
    changed = {part: [] for part in ("vision", "projector", "language")}
    for name, p in start.named_parameters():
        changed[part_of(name)].append(not torch.equal(p, after[name]))
    assert not any(changed["vision"])  # frozen tower untouched
    assert any(changed["projector"]) and any(changed["language"])
    assert (final / "redstar_config.yaml").is_file() and "vision-language" in (final / "README.md").read_text()


def test_broken_image_row_is_reported_with_its_line(tmp_path, capsys):
    data = _data(tmp_path, n=4)
    lines = data.read_text().splitlines()
    row = json.loads(lines[2])
    row["images"] = ["images/missing.png"]
    lines[2] = json.dumps(row)
    data.write_text("\n".join(lines) + "\n")
    cfg = _config(tmp_path, data, epochs=1)
    assert main(["sft", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "sft.jsonl:3" in err and "missing.png" in err
    # with skip_bad the row is skipped and counted, the rest trains
    assert main(["sft", str(cfg), "data.skip_bad=true", "train.max_steps=1"]) == 0
    assert "broken images skipped 1" in capsys.readouterr().out
    # the vision-language recipe keeps the run-directory contract of the text recipes
    assert main(["sft", str(cfg), "data.skip_bad=true", "train.max_steps=1"]) == 0
    assert "already complete" in capsys.readouterr().out
    assert main(["sft", str(cfg), "data.skip_bad=true", "train.max_steps=1", "train.lr=1e-4"]) == 2
    assert "train.lr: 0.002 -> 0.0001" in capsys.readouterr().err
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "complete"


def test_freeze_groups_and_learning_rates():
    model, _ = tiny_vl_model("qwen2_vl")
    groups = apply_freeze(model, FreezeConfig(train_vision=True, lr_vision=1e-6, lr_projector=5e-5), base_lr=1e-5)
    assert {g["name"]: g["lr"] for g in groups} == {"vision": 1e-6, "projector": 5e-5, "language": 1e-5}
    groups = apply_freeze(model, FreezeConfig(train_vision=False, train_projector=False), base_lr=1e-5)
    assert [g["name"] for g in groups] == ["language"]
    counts = count_parameters(model)
    assert counts["vision"]["trainable"] == 0 and counts["projector"]["trainable"] == 0
    assert counts["language"]["trainable"] == counts["language"]["total"] > 0
    with pytest.raises(ValueError, match="every part is frozen"):
        apply_freeze(model, FreezeConfig(train_language=False, train_projector=False), 1e-5)


def test_zero3_head_path_never_builds_full_logits(tmp_path, monkeypatch):
    """With the head partitioned (ZeRO-3) the loss calls the head module in target chunks;
    loss and gradients equal the unpartitioned path's."""
    import geo.sft as gsft
    from geo.collate import VLCollator
    from geo.dataset import VLDataConfig, encode_rows

    model, proc = gsft.load_vl_model("tiny:qwen2_vl", attn="sdpa")
    items, _ = encode_rows(VLDataConfig(train=[str(_data(tmp_path, n=2))], max_len=512), proc, "sft", progress=False)
    batch = VLCollator(proc, model, pack=True)([ex for i in range(len(items)) for ex in items[i]])
    ref, n_ref, _ = gsft.vl_lm_loss(model, batch, impl="naive")
    ref_grad = torch.autograd.grad(ref, model.lm_head.weight)[0]

    head = model.get_output_embeddings()
    rows_seen = []
    hook = head.register_forward_hook(lambda m, args, out: rows_seen.append(args[0].shape[0]))
    monkeypatch.setattr(gsft, "_is_zero3_partitioned", lambda p: True)
    loss, n, _ = gsft.vl_lm_loss(model, batch, head_chunk_size=8)
    grad = torch.autograd.grad(loss, model.lm_head.weight)[0]
    hook.remove()
    assert n == n_ref > 8
    assert max(rows_seen) <= 8 and len(rows_seen) >= 2 * (-(-n // 8))  # chunks, recomputed in backward
    torch.testing.assert_close(loss, ref, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-4, atol=1e-6)

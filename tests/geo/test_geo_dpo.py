"""VL DPO: the loss against a reference computed another way, the reference pass on the one DPO
path (split over ranks), and an end-to-end run."""

import json

import pytest
import torch
import yaml

from geo.collate import VLCollator, encode_chat
from geo.dpo import DPOLossConfig, dpo_loss_fn, pair_collate, preference_rows_from_problems, sequence_logps
from geo.freeze import part_of
from geo.generator import generate, write_problems
from redstar.cli import main
from redstar.dataio import write_jsonl
from redstar.models import tiny_vl_model
from tests.redstar.train.train_fixtures import quiet_train


def _reference_logp(model, proc, messages, image):
    """Sum of reply log-probs from the plain HF forward (full logits, one sample, no packing)."""
    prompt = proc.apply_chat_template(messages[:-1], tokenize=False, add_generation_prompt=True)
    full = proc.apply_chat_template(messages, tokenize=False)
    n_prompt = proc(text=[prompt], images=[image], return_tensors="pt")["input_ids"].shape[1]
    enc = proc(text=[full], images=[image], return_tensors="pt")
    logits = model(**enc).logits[0].float()  # [T, V]
    logp = torch.log_softmax(logits[:-1], -1)  # predicts tokens 1..T-1
    ids = enc["input_ids"][0, 1:]
    tok = logp.gather(1, ids[:, None]).squeeze(1)
    end = len(ids) - 1  # the template's newline after <|im_end|> is not a target
    return tok[n_prompt - 1 : end].sum(), end - (n_prompt - 1)


def test_dpo_loss_matches_reference():
    model, proc = tiny_vl_model("qwen2_vl")
    model.eval()
    rows, imgs = generate(2, seed=4)
    for r in rows:
        r["images"] = ["x.png"]
    prefs = preference_rows_from_problems(rows)
    pairs, conv = [], []
    for p, im in zip(prefs, imgs):
        c = [
            {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": p["prompt"][0]["content"][8:]}]},
            p["chosen"][0],
        ]
        r = [c[0], p["rejected"][0]]
        conv.append((c, r, im))
        pairs.append([encode_chat(c, [im], proc), encode_chat(r, [im], proc)])
    ref = torch.tensor([-30.0, -35.5, -41.0, -38.25])  # arbitrary reference log-probs
    for k, pair in enumerate(pairs):
        pair[0]["ref_logps"], pair[1]["ref_logps"] = float(ref[2 * k]), float(ref[2 * k + 1])
    batch = pair_collate(VLCollator(proc, model, pack=True))(pairs)
    padded = pair_collate(VLCollator(proc, model, pack=False))(pairs)
    with torch.no_grad():
        logps = [(_reference_logp(model, proc, c, im), _reference_logp(model, proc, r, im)) for c, r, im in conv]
        for cfg in (
            DPOLossConfig(beta=0.1),
            DPOLossConfig(beta=0.5, label_smoothing=0.2, sft_weight=0.3),
            DPOLossConfig(beta=0.2, loss_type="ipo"),
        ):
            loss, n_pairs, metrics = dpo_loss_fn(cfg)(model, batch)
            expected, wins = 0.0, 0
            for k, ((pc, nc), (pr, _)) in enumerate(logps):
                delta = (pc - ref[2 * k]) - (pr - ref[2 * k + 1])
                wins += int(delta > 0)  # the chosen reply's implicit reward is the higher one
                if cfg.loss_type == "ipo":
                    term = (delta - 1 / (2 * cfg.beta)) ** 2
                else:
                    z = cfg.beta * delta
                    term = -(1 - cfg.label_smoothing) * torch.log(torch.sigmoid(z)) - cfg.label_smoothing * torch.log(
                        torch.sigmoid(-z)
                    )
                expected += term + cfg.sft_weight * (-pc / nc)
            assert n_pairs == 2
            assert loss.item() == pytest.approx(float(expected), rel=1e-4, abs=1e-5)
            assert dpo_loss_fn(cfg)(model, padded)[0].item() == pytest.approx(float(expected), rel=1e-4, abs=1e-5)
            assert metrics["reward_accuracy"] == pytest.approx(wins / len(logps))


def test_vl_reference_logps_split_over_ranks(tmp_path, monkeypatch):
    """The VL recipe's reference pass is the text path's (redstar.train.dpo.fill_reference_logps
    with geo's collator and log-prob function): two ranks each score their share of the packs,
    and the all-reduced sum is one process's result, which is each pair's log-prob on its own."""
    from geo.dataset import VLDataConfig, encode_rows
    from geo.images import set_processor_pixels
    from geo.sft import plan_fn
    from redstar.train.dpo import fill_reference_logps

    probs = [json.loads(x) for x in write_problems(tmp_path / "d", 5, seed=6, progress=False).read_text().splitlines()]
    write_jsonl(tmp_path / "d" / "pref.jsonl", preference_rows_from_problems(probs))
    data = VLDataConfig(
        train=[str(tmp_path / "d" / "pref.jsonl")], max_len=512, pack=False, batch_size=2, max_pixels=28 * 28 * 16
    )
    model, proc = tiny_vl_model("qwen2_vl")
    set_processor_pixels(proc, None, data.max_pixels)
    items, _ = encode_rows(data, proc, "preference", progress=False)
    collate = pair_collate(VLCollator(proc, model, pack=False))
    packs = plan_fn(items.lengths(), data, 0)(0)
    assert len(items) == 5 and len(packs) == 3  # rank 1 is a pack short: it repeats one
    fill_reference_logps(model, items, packs, collate, sequence_logps, progress=False, records=items.items)
    single = torch.tensor([it["ref_logps"] for it in items.items], dtype=torch.float64)  # [P, 2]
    with torch.no_grad():
        for i in range(len(items)):
            alone, _ = sequence_logps(model.eval(), collate([items[i]]))
            assert alone.tolist() == pytest.approx(single[i].tolist(), rel=1e-5)

    reduced, passes = [], []
    monkeypatch.setattr(torch.distributed, "all_reduce", lambda t: reduced.append(t.clone()))
    for rank in (0, 1):
        for it in items.items:
            it.pop("ref_logps")
        counted = lambda m, b, rank=rank: passes.append(rank) or sequence_logps(m, b)  # noqa: E731
        fill_reference_logps(
            model, items, packs, collate, counted, progress=False, rank=rank, world_size=2, records=items.items
        )
        mine = sorted(i for pack in packs[rank::2] for i in pack)
        assert [i for i in range(len(items)) if reduced[rank][i].abs().sum() > 0] == mine
    assert passes == [0, 0, 1, 1]  # every rank makes the same number of forwards
    torch.testing.assert_close(reduced[0] + reduced[1], single, rtol=1e-6, atol=0)


@pytest.mark.integration
def test_vl_dpo_cli_run(tmp_path):
    probs = [json.loads(x) for x in write_problems(tmp_path / "d", 4, seed=6, progress=False).read_text().splitlines()]
    write_jsonl(tmp_path / "d" / "pref.jsonl", preference_rows_from_problems(probs))
    cfg = {
        "modality": "vision",
        "model": "tiny:qwen2_vl",
        "out": str(tmp_path / "run"),
        "attn_implementation": "sdpa",
        "data": {
            "train": [str(tmp_path / "d" / "pref.jsonl")],
            "max_len": 512,
            "pack_len": 1024,
            "max_pixels": 28 * 28 * 16,
        },
        "dpo": {"beta": 0.5},
        "freeze": {"train_vision": False},
        "train": quiet_train(lr=3e-3, schedule="constant", epochs=3, device="cpu", seed=0),
    }
    path = tmp_path / "geo_dpo.yaml"
    path.write_text("# schema: geo.dpo:VLDPOConfig\n" + yaml.safe_dump(cfg))
    assert main(["dpo", str(path)]) == 0  # the schema line routes it to geo.dpo
    log = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert log[0]["loss"] == pytest.approx(0.6931, abs=1e-3)  # policy == reference at step 0
    assert log[-1]["loss"] < log[0]["loss"] - 0.05 and log[-1]["reward_margin"] > 0
    from transformers import AutoModelForImageTextToText

    trained = dict(AutoModelForImageTextToText.from_pretrained(tmp_path / "run" / "final").named_parameters())
    start, _ = tiny_vl_model("qwen2_vl", seed=0)
    moved = {part_of(n): [] for n, _ in start.named_parameters()}
    for n, p in start.named_parameters():
        moved[part_of(n)].append(not torch.equal(p, trained[n]))
    assert not any(moved["vision"]) and any(moved["language"])

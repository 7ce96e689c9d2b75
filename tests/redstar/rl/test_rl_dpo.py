"""Native DPO on the training engine: the loss against the formula, packed log-probs against
per-sequence logits, and a tiny model whose preference margin grows over a few CPU steps."""

import json
import math
from pathlib import Path

import pytest
import torch

from redstar.cli import main
from redstar.models import tiny_causal_lm
from redstar.train.dpo import collate_pairs, dpo_loss, sequence_logps, tokenize_pairs

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = ROOT / "redstar" / "train" / "data" / "dpo_tiny.jsonl"


def _rows():
    return [json.loads(line) for line in FIXTURE.read_text().splitlines()]


def _log_sigmoid(x):
    return -math.log1p(math.exp(-x))


def test_dpo_loss_and_rewards_match_the_formula():
    torch.manual_seed(0)
    pc, pr, rc, rr = (torch.randn(5, dtype=torch.float64) * 20 - 50 for _ in range(4))
    for beta, eps in ((0.1, 0.0), (0.5, 0.2)):
        losses, r_c, r_r = dpo_loss(pc, pr, rc, rr, beta, label_smoothing=eps)
        for i in range(5):
            delta = (pc[i].item() - rc[i].item()) - (pr[i].item() - rr[i].item())
            ref = -(1 - eps) * _log_sigmoid(beta * delta) - eps * _log_sigmoid(-beta * delta)
            assert losses[i].item() == pytest.approx(ref, rel=1e-9)
            assert r_c[i].item() == pytest.approx(beta * (pc[i].item() - rc[i].item()))
            assert r_r[i].item() == pytest.approx(beta * (pr[i].item() - rr[i].item()))
    ipo, _, _ = dpo_loss(pc, pr, rc, rr, 0.25, loss_type="ipo")
    delta = (pc - rc) - (pr - rr)
    assert torch.allclose(ipo, (delta - 2.0) ** 2)
    # Policy equal to the reference: every pair costs log 2 and the gradient favours chosen.
    p = torch.tensor([-3.0, -7.0], requires_grad=True)
    loss, _, _ = dpo_loss(p[:1], p[1:], p[:1].detach(), p[1:].detach(), 0.1)
    loss.sum().backward()
    assert loss.item() == pytest.approx(math.log(2)) and p.grad[0] < 0 < p.grad[1]
    with pytest.raises(ValueError, match="loss_type"):
        dpo_loss(pc, pr, rc, rr, 0.1, loss_type="hinge2")


def test_packed_pair_logps_equal_each_sequence_run_alone():
    model, tok = tiny_causal_lm(seed=1)
    model.eval()
    items, stats = tokenize_pairs(_rows()[:2], tok, 256, progress=False)
    assert stats["pairs"] == 2
    batch = collate_pairs(items, tok.pad_token_id)
    assert batch["num_targets"] == 2 and batch["cu_seqlens"].numel() == 5
    with torch.no_grad():
        logps, counts = sequence_logps(model, batch)  # [6]
        for s, ex in enumerate(ex for it in items for ex in (it["chosen"], it["rejected"])):
            ids = torch.tensor([ex["input_ids"]])
            logits = model(ids).logits[0, :-1].float()  # [T-1, V]
            target = torch.tensor(ex["input_ids"][1:])
            mask = torch.tensor(ex["labels"][1:]) != -100  # reply tokens only
            ref = torch.log_softmax(logits, -1).gather(1, target[:, None])[:, 0][mask].sum()
            assert logps[s].item() == pytest.approx(ref.item(), abs=1e-3)
            assert counts[s].item() == int(mask.sum())


@pytest.mark.integration
def test_margin_grows_and_parameters_change_over_a_few_cpu_steps(tmp_path, capsys):
    out = tmp_path / "dpo"
    code = main(
        [
            "dpo",
            str(ROOT / "configs/dpo_tiny_cpu.yaml"),
            f"out={out}",
            f"data.train=[{FIXTURE}]",
            "train.max_steps=4",
            "data.max_rows=8",
            "data.pack_len=512",
            "train.progress=false",
        ]
    )
    assert code == 0, capsys.readouterr().err
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 4
    assert rows[0]["loss"] == pytest.approx(math.log(2), abs=1e-4)  # step 1: policy == reference
    assert rows[0]["reward_margin"] == pytest.approx(0.0, abs=1e-4)
    assert rows[-1]["reward_margin"] > 0.02 and rows[-1]["loss"] < rows[0]["loss"]

    # The exported model prefers chosen over rejected more than the starting model does.
    from transformers import AutoModelForCausalLM

    start, tok = tiny_causal_lm(seed=42)  # the config's seed
    final = AutoModelForCausalLM.from_pretrained(out / "final", dtype=torch.float32)
    assert any(not torch.equal(a, b) for a, b in zip(start.state_dict().values(), final.state_dict().values()))
    items, _ = tokenize_pairs(_rows()[:8], tok, 256, progress=False)
    batch = collate_pairs(items, tok.pad_token_id)
    with torch.no_grad():
        before, _ = sequence_logps(start.eval(), batch)
        after, _ = sequence_logps(final.eval(), batch)
    margin = ((after[0::2] - before[0::2]) - (after[1::2] - before[1::2])).mean()
    assert margin.item() > 0
    assert (out / "final" / "redstar_config.yaml").is_file()


def test_bad_rows_and_bad_loss_types_are_refused(tmp_path, capsys):
    bad = tmp_path / "pref.jsonl"
    rows = _rows()[:2]
    rows[1] = {"prompt": rows[1]["prompt"], "chosen": rows[1]["chosen"]}
    bad.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = str(ROOT / "configs/dpo_tiny_cpu.yaml")
    assert main(["dpo", cfg, f"out={tmp_path}/x", f"data.train=[{bad}]"]) == 2
    err = capsys.readouterr().err
    assert "pref.jsonl:2" in err and "rejected" in err
    assert main(["dpo", cfg, "dpo.loss_type=hinge2"]) == 2
    assert "must be one of" in capsys.readouterr().err


def _openrlhf_dpo_loss_class():
    """OpenRLHF 0.11.2's DPOLoss, taken from its source (its module imports flash-attn)."""
    import ast
    import importlib.util

    spec = importlib.util.find_spec("openrlhf")
    path = Path(spec.submodule_search_locations[0]) / "models" / "loss.py"
    tree = ast.parse(path.read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "DPOLoss")
    ns = {"nn": torch.nn, "torch": torch, "F": torch.nn.functional, "Tuple": tuple}
    exec(compile(ast.Module(body=[cls], type_ignores=[]), str(path), "exec"), ns)
    return ns["DPOLoss"]


@pytest.mark.parametrize("beta,eps,ipo", [(0.1, 0.0, False), (0.3, 0.1, False), (0.1, 0.0, True)])
def test_native_loss_equals_openrlhf_dpo_loss(beta, eps, ipo):
    pytest.importorskip("openrlhf")
    DPOLoss = _openrlhf_dpo_loss_class()
    torch.manual_seed(3)
    pc, pr, rc, rr = (torch.randn(7, dtype=torch.float64) * 30 - 80 for _ in range(4))
    ref_loss, ref_c, ref_r = DPOLoss(beta, eps, ipo)(pc, pr, rc, rr)
    losses, r_c, r_r = dpo_loss(pc, pr, rc, rr, beta, eps, "ipo" if ipo else "sigmoid")
    assert torch.allclose(losses.mean(), ref_loss) and torch.allclose(r_c, ref_c) and torch.allclose(r_r, ref_r)

"""The engine end to end on a tiny model: loss falls and every parameter moves, the export
reloads in transformers with identical logits, and ``redstar sft`` resumes a killed run at the
same step and data position, ending with the same weights as an uninterrupted run."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from redstar.models import tiny_causal_lm
from redstar.train.engine import PlanLoader, TrainConfig, Trainer
from redstar.train.loss import causal_lm_loss
from redstar.train.packing import best_fit_pack, collate_packed
from redstar.train.tokenize import tokenize_rows

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = ROOT / "redstar" / "train" / "data" / "sft_tiny.jsonl"


def _rows():
    return [json.loads(line) for line in FIXTURE.read_text().splitlines()]


def test_loss_falls_all_params_change_and_export_reloads(tmp_path):
    model, tok = tiny_causal_lm(seed=0)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    ex, stats = tokenize_rows(_rows(), tok, 512, progress=False)
    assert stats["too_long"] == 0 and len(ex) == 24
    lengths = [len(e["input_ids"]) for e in ex]
    loader = PlanLoader(ex, lambda e: best_fit_pack(lengths, 512, seed=e), collate_packed)
    cfg = TrainConfig(lr=5e-3, epochs=3, dtype="float32", warmup_ratio=0.0, progress=False, save_every=0)
    summary = Trainer(model, causal_lm_loss, loader, cfg, tmp_path, tokenizer=tok).train()

    rows = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == summary["step"] >= 8
    assert sum(r["loss"] for r in rows[-3:]) / 3 < 0.7 * sum(r["loss"] for r in rows[:3]) / 3
    assert all(r["grad_norm"] > 0 and r["tokens_per_s"] > 0 for r in rows)
    unchanged = [n for n, p in model.named_parameters() if torch.equal(p.detach(), before[n])]
    assert unchanged == []
    assert (tmp_path / "loss.png").stat().st_size > 1000

    final = tmp_path / "final"
    assert (final / "model.safetensors").is_file() and (final / "chat_template.jinja").is_file()
    reloaded = AutoModelForCausalLM.from_pretrained(final, dtype=torch.float32)
    tok2 = AutoTokenizer.from_pretrained(final)
    ids = tok2.apply_chat_template(
        [{"role": "user", "content": "What is 2 + 3?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )["input_ids"]
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(ids).logits, model(ids).logits, rtol=0, atol=0)


def _sft_cli(args, env_extra=None, check=True):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **(env_extra or {})}
    p = subprocess.run(
        [sys.executable, "-m", "redstar.cli", "sft", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check and p.returncode != 0:
        raise AssertionError(p.stderr[-3000:])
    return p


def test_kill_and_resume_matches_uninterrupted_run(tmp_path, tiny_lm_dir, write_sft_config):
    cfg = write_sft_config(
        tmp_path / "runs",
        data={"pack_len": 256, "system_prompt_file": "redstar_system.txt"},
        train={"max_steps": 6, "grad_accum": 2, "warmup_ratio": 0.2},
    )
    from redstar.config import load_config
    from redstar.train.sft import SFTConfig, run

    run(load_config(SFTConfig, cfg, [f"out={tmp_path / 'straight'}", "train.progress=false"]))  # uninterrupted
    killed = _sft_cli([str(cfg), f"out={tmp_path / 'killed'}"], {"REDSTAR_KILL_AFTER_CHECKPOINT": "4"}, check=False)
    assert killed.returncode == -9
    ckpts = sorted(p.name for p in (tmp_path / "killed" / "checkpoints").iterdir())
    assert ckpts == ["step-000002", "step-000004"] and not (tmp_path / "killed" / "final").exists()
    state = json.loads((tmp_path / "killed" / "checkpoints" / "step-000004" / "trainer_state.json").read_text())
    assert state["step"] == 4 and state["micro"] == 8

    resumed = _sft_cli([str(cfg), f"out={tmp_path / 'killed'}"])
    assert "resumed from" in resumed.stdout and "step 4" in resumed.stdout
    a = AutoModelForCausalLM.from_pretrained(tmp_path / "straight" / "final")
    b = AutoModelForCausalLM.from_pretrained(tmp_path / "killed" / "final")
    for (n, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        torch.testing.assert_close(q, p, rtol=1e-5, atol=1e-7, msg=n)
    steps = [json.loads(l)["step"] for l in (tmp_path / "killed" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5, 6]
    card = (tmp_path / "killed" / "final" / "README.md").read_text()
    assert str(tiny_lm_dir) in card and "sft_tiny.jsonl" in card and "6 optimizer steps" in card
    resolved = (tmp_path / "killed" / "final" / "redstar_config.yaml").read_text()
    assert "max_steps: 6" in resolved and "You are Qwen" not in resolved  # the file name, not its text


def test_two_stage_config_second_stage_starts_from_first(tmp_path, tiny_lm_dir):
    from redstar.config import load_config
    from redstar.train.sft import SFTConfig, run

    cfg = tmp_path / "two.yaml"
    cfg.write_text(f"""# schema: redstar.train.sft:SFTConfig
model: {tiny_lm_dir}
out: {tmp_path / "two"}
attn_implementation: sdpa
stages:
  - name: general
    data: {{train: [{FIXTURE}], max_len: 256, train_on: all}}
    train: {{lr: 5.0e-3}}
  - name: math
    data: {{train: [{FIXTURE}], max_len: 256, max_rows: 12}}
    train: {{lr: 3.0e-3}}
train: {{max_steps: 2, dtype: float32, device: cpu, progress: false, warmup_ratio: 0.0, gradient_checkpointing: false}}
""")
    summaries = run(load_config(SFTConfig, cfg))
    general, math = tmp_path / "two" / "general" / "final", tmp_path / "two" / "math" / "final"
    assert [s["stage"] for s in summaries] == ["general", "math"] and summaries[1]["data"]["rows"] == 12
    resolved = load_config(SFTConfig, math / "redstar_config.yaml")
    assert resolved.model == str(general) and resolved.train.lr == 3e-3 and resolved.stages[0].name == "math"
    card = (math / "README.md").read_text()
    # the body names the local parent; base_model is for hub ids only (followed through the parent's card)
    assert f"Fine-tuned from `{general}`" in card and f"base_model: {general}" not in card
    assert load_config(SFTConfig, general / "redstar_config.yaml").train.lr == 5e-3
    # the second stage moved the first stage's weights
    a = AutoModelForCausalLM.from_pretrained(general)
    b = AutoModelForCausalLM.from_pretrained(math)
    assert not torch.equal(a.model.layers[0].mlp.up_proj.weight, b.model.layers[0].mlp.up_proj.weight)


def test_resume_with_a_changed_data_plan_is_refused(tmp_path):
    from redstar.config import ConfigError
    from redstar.train.checkpoint import data_key

    data = tmp_path / "rows.jsonl"
    data.write_text(FIXTURE.read_text())
    model, tok = tiny_causal_lm(seed=0)
    ex, _ = tokenize_rows(_rows(), tok, 512, progress=False)
    lengths = [len(e["input_ids"]) for e in ex]

    def trainer(grad_accum, max_len, max_steps):
        loader = PlanLoader(ex, lambda e: best_fit_pack(lengths, 512, seed=e), collate_packed)
        cfg = TrainConfig(
            lr=1e-3,
            max_steps=max_steps,
            grad_accum=grad_accum,
            dtype="float32",
            warmup_ratio=0.0,
            progress=False,
            tensorboard=False,
            save_every=1,
            gradient_checkpointing=False,
        )
        return Trainer(
            model,
            causal_lm_loss,
            loader,
            cfg,
            tmp_path / "run",
            tokenizer=tok,
            data_key=data_key([str(data)], max_len=max_len),
        )

    trainer(1, 512, 2).train()
    state = json.loads((tmp_path / "run" / "checkpoints" / "step-000001" / "trainer_state.json").read_text())
    assert state["plan"]["grad_accum"] == 1 and state["plan"]["data_bytes"] == [data.stat().st_size]
    with pytest.raises(ConfigError, match=r"data plan changed.*grad_accum: 1 -> 2.*max_len: 512 -> 256"):
        trainer(2, 256, 3).train()
    data.write_text(FIXTURE.read_text() + "\n")  # same settings, the data file grew
    with pytest.raises(ConfigError, match=r"data_bytes"):
        trainer(1, 512, 3).train()
    data.write_text(FIXTURE.read_text())
    summary = trainer(1, 512, 3).train()  # unchanged: resumes at step 1
    assert summary["step"] == 3 and "plan" not in summary

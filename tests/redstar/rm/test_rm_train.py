"""A tiny reward model trained on the engine learns to rank correct above wrong answers."""

import json
from types import SimpleNamespace

import pytest
import torch

from redstar.models import tiny_causal_lm
from redstar.rm.data import PairEncoder, load_questions, pad_batch
from redstar.rm.model import RewardModel
from redstar.rm.train import RMDataConfig, RMTrainConfig, split_groups, train
from redstar.train.engine import TrainConfig
from tests.redstar.rm.rm_fixtures import synthetic_task
from tests.redstar.train.train_fixtures import quiet_train


def _cfg(out, problems, samples, **train_kw):
    t = {**quiet_train(lr=3e-3, epochs=2, grad_accum=1, device="cpu", seed=0), **train_kw}
    return RMTrainConfig(
        out=str(out),
        data=RMDataConfig(
            samples=[str(samples)], problems=str(problems), n=4, eval_fraction=0.25, max_len=128, groups_per_micro=8
        ),
        train=TrainConfig(**t),
    )


def test_tiny_reward_model_learns_to_rank(tmp_path, task_files):
    problems, samples = task_files
    causal, tok = tiny_causal_lm(seed=0)
    start = {k: v.clone() for k, v in causal.model.state_dict().items()}
    result = train(_cfg(tmp_path / "run", problems, samples), causal, tok)

    before, after = result["eval_before"], result["eval_after"]
    assert result["eval_groups"] >= 4 and result["train_groups"] >= 16
    assert after["pair_acc"] >= 0.9 and after["pair_acc"] - before["pair_acc"] >= 0.3
    assert after["top1_acc"] > after["top1_random"]
    # the training loss went down, and the backbone itself changed, not only the head
    log = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert log[-1]["loss"] < log[0]["loss"]
    assert "pair_acc" in log[0]

    # the exported directory is a reward model that reloads with its config and model card
    final = tmp_path / "run" / "final"
    assert (final / "redstar_config.yaml").is_file()
    assert f"-> {after['pair_acc']:.3f}" in (final / "README.md").read_text()
    rm, tok2 = RewardModel.from_pretrained(final)
    changed = [k for k, v in rm.body.state_dict().items() if not torch.equal(v, start[k])]
    assert changed
    # held-out accuracy recomputed from the reloaded model, on the held-out problems only (the
    # split training used), agrees with what training reported
    questions = load_questions(problems)
    rows = [json.loads(line) for line in samples.read_text().splitlines()]
    ids_all = sorted({r["problem_id"] for r in rows})
    trained, held = split_groups([SimpleNamespace(problem_id=p) for p in ids_all], 0.25)
    held_ids = {g.problem_id for g in held}
    assert len(held_ids) == result["eval_groups"] and not held_ids & {g.problem_id for g in trained}
    rows = [r for r in rows if r["problem_id"] in held_ids]
    enc = PairEncoder(tok2, max_len=128)
    ids, mask = pad_batch([enc(questions[r["problem_id"]], r["response"]) for r in rows], tok2.pad_token_id)
    with torch.no_grad():
        scores = rm(ids, mask).tolist()
    wins = []
    for pid in held_ids:  # every (correct, wrong) pair within a problem; a tie counts half
        idx = [i for i, r in enumerate(rows) if r["problem_id"] == pid]
        for i in (i for i in idx if rows[i]["verdict"]["correct"]):
            for j in (j for j in idx if not rows[j]["verdict"]["correct"]):
                wins.append(1.0 if scores[i] > scores[j] else 0.5 if scores[i] == scores[j] else 0.0)
    assert len(wins) == 4 * len(held_ids)
    assert sum(wins) / len(wins) == pytest.approx(after["pair_acc"], abs=1e-6)


def test_gradient_is_independent_of_micro_batch_split(tmp_path):
    """One step over 8 problems: 1 micro-batch of 8 or 4 micro-batches of 2 give the same update,
    although groups hold different numbers of pairs (the collator's num_targets normalises)."""
    from redstar.dataio import write_jsonl

    problems, samples = synthetic_task(8)
    # every other problem loses one wrong answer: 2 pairs instead of 4 under pairwise BT
    samples = [s for i, s in enumerate(samples) if i % 8 != 3]
    write_jsonl(tmp_path / "p.jsonl", problems)
    write_jsonl(tmp_path / "s.jsonl", samples)
    weights = []
    for micro, accum in ((8, 1), (2, 4)):
        cfg = _cfg(
            tmp_path / f"r{micro}",
            tmp_path / "p.jsonl",
            tmp_path / "s.jsonl",
            epochs=1,
            max_steps=1,
            grad_accum=accum,
            lr=1e-2,
            schedule="constant",
        )
        cfg.loss = "pairwise_bt"
        cfg.data.groups_per_micro = micro
        cfg.data.eval_fraction = 0.0
        train(cfg, *tiny_causal_lm(seed=0))
        rm, _ = RewardModel.from_pretrained(tmp_path / f"r{micro}" / "final")
        weights.append(rm.score_head.weight.detach().clone())
    torch.testing.assert_close(weights[0], weights[1], rtol=1e-4, atol=1e-6)

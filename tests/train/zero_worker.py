"""Run by torchrun in the ZeRO tests (not collected by pytest): train a tiny model for two
steps with each given strategy and write its losses to result.json beside the final model.

The ZeRO-3 head loss runs in chunks of HEAD_CHUNK targets: with 4, the two ranks' micro-batches
(13 / 17 targets on rank 0, 25 / 69 on rank 1) need different numbers of head calls, each a
weight all-gather, which the loss must keep in step across ranks."""

import json
import sys
from pathlib import Path

import torch

from redstar.models import tiny_causal_lm
from redstar.train.engine import PlanLoader, Trainer, TrainConfig
from redstar.train.loss import causal_lm_loss
from redstar.train.packing import collate_packed

HEAD_CHUNK = 4


def loss_fn(model, batch):
    """causal_lm_loss plus a per-micro-batch metric that differs between ranks (its target
    count): the logged value must be the mean over every rank's micro-batches."""
    loss, n, metrics = causal_lm_loss(model, batch, head_chunk_size=HEAD_CHUNK)
    return loss, n, {**metrics, "micro_targets": float(n)}


def examples(n=8):
    g = torch.Generator().manual_seed(1)
    out = []
    for k in range(n):
        ids = torch.randint(10, 400, (8 + 3 * k,), generator=g).tolist()
        out.append({"input_ids": ids, "labels": [-100] * 3 + ids[3:]})
    return out


def main(out_dir: str, strategy: str, zero_stage: int, grad_accum: int, tied: bool = True) -> None:
    model, tok = tiny_causal_lm(seed=3)
    if not tied:
        model.config.tie_word_embeddings = False
        model.lm_head.weight = torch.nn.Parameter(model.model.embed_tokens.weight.detach().clone())
    plan = [[0, 1], [2, 3], [4], [5, 6, 7]] * 2          # 8 micro-batches per epoch
    loader = PlanLoader(examples(), lambda epoch: plan, collate_packed)
    cfg = TrainConfig(lr=1e-2, max_steps=2, grad_accum=grad_accum, dtype="float32", gradient_checkpointing=False,
                      strategy=strategy, zero_stage=zero_stage, warmup_ratio=0.0, schedule="constant",
                      progress=False, tensorboard=False, max_grad_norm=0.0, save_every=1, keep_last=1)
    summary = Trainer(model, loss_fn, loader, cfg, out_dir, tokenizer=tok).train()
    if summary["final_dir"]:
        rows = [json.loads(l) for l in (Path(out_dir) / "metrics.jsonl").read_text().splitlines()]
        Path(out_dir, "result.json").write_text(json.dumps({"losses": [r["loss"] for r in rows], "step": summary["step"],
                                                            "micro_targets": [r["micro_targets"] for r in rows]}))


if __name__ == "__main__":
    # zero_worker.py OUT GRAD_ACCUM STRATEGY:STAGE [STRATEGY:STAGE ...]: one process group, runs in turn
    root, accum = sys.argv[1], int(sys.argv[2])
    for spec in sys.argv[3:]:
        strategy, stage = spec.split(":")
        main(str(Path(root) / f"{strategy}{stage}"), strategy, int(stage), accum)

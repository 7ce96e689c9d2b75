"""Run by torchrun in the ZeRO tests (not collected by pytest): train a tiny model for two
steps with each given strategy and write its losses to result.json beside the final model.

The ZeRO-3 head loss runs in chunks of HEAD_CHUNK targets: with 4, the two ranks' micro-batches
(13 / 17 targets on rank 0, 25 / 69 on rank 1) need different numbers of head calls, each a
weight all-gather, which the loss must keep in step across ranks."""

import json
import os
import sys
from pathlib import Path

import torch

from redstar.models import tiny_causal_lm
from redstar.train.engine import PlanLoader, TrainConfig, Trainer
from redstar.train.loss import causal_lm_loss
from redstar.train.packing import collate_packed
from tests.redstar.train.train_fixtures import quiet_train, token_samples

HEAD_CHUNK = 4


def loss_fn(model, batch):
    """causal_lm_loss plus a per-micro-batch metric that differs between ranks (its target
    count): the logged value must be the mean over every rank's micro-batches."""
    loss, n, metrics = causal_lm_loss(model, batch, head_chunk_size=HEAD_CHUNK)
    return loss, n, {**metrics, "micro_targets": float(n)}


def examples(n=8):
    return token_samples(n, first_len=8, step=3, seed=1)


def ds_config_file(out_dir: str) -> str:
    """Real ZeRO-3 sharding: with DeepSpeed's default persistence threshold (1e5 elements)
    every parameter of the tiny model would stay whole on every rank."""
    path = Path(out_dir) / "ds_base.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    # and no prefetching, so the head is partitioned when the decoder's last norm has run
    path.write_text(
        json.dumps({"zero_optimization": {"stage3_param_persistence_threshold": 0, "stage3_prefetch_bucket_size": 0}})
    )
    return str(path)


def two_steps(out_dir: str, strategy: str, zero_stage: int, grad_accum: int, **settings) -> TrainConfig:
    """Two optimizer steps at a constant lr of 1e-2 without clipping, under ``strategy``
    (real ZeRO-3 sharding when it is deepspeed); ``settings`` add TrainConfig fields."""
    return TrainConfig(
        **quiet_train(
            lr=1e-2,
            max_steps=2,
            grad_accum=grad_accum,
            strategy=strategy,
            zero_stage=zero_stage,
            schedule="constant",
            max_grad_norm=0.0,
            deepspeed_config=ds_config_file(out_dir) if strategy == "deepspeed" else "",
            **settings,
        )
    )


def watch_head(model, seen: list) -> None:
    """Record the head weight's ZeRO-3 status when the decoder's final norm has run: the
    moment the loss turns to the head."""
    w = model.get_output_embeddings().weight

    def hook(module, args, out):
        seen.append(f"{w.ds_status.name} {w.data.numel()}" if hasattr(w, "ds_status") else "whole")

    model.model.norm.register_forward_hook(hook)


def pair_items(n=8):
    ex = examples(2 * n)
    return [{"chosen": ex[2 * i], "rejected": ex[2 * i + 1]} for i in range(n)]


def main_dpo(out_dir: str, strategy: str, zero_stage: int, grad_accum: int, offload: bool = False) -> None:
    """Native DPO for two steps; the reference log-probs are computed by the engine's model,
    split over the ranks."""
    from redstar.train.dpo import DPOLossConfig, collate_pairs, fill_reference_logps, make_loss_fn

    model, tok = tiny_causal_lm(seed=3)
    items = pair_items()
    plan = [[0, 1], [2], [3, 4, 5], [6, 7]] * 2
    seen = []
    watch_head(model, seen)
    loss_fn = make_loss_fn(DPOLossConfig(beta=0.5))

    loader = PlanLoader(items, lambda epoch: plan, collate_pairs)
    cfg = two_steps(out_dir, strategy, zero_stage, grad_accum, offload=offload)
    trainer = Trainer(model, loss_fn, loader, cfg, out_dir, tokenizer=tok)
    fill_reference_logps(
        trainer.backend.loss_model,
        items,
        plan[:4],
        collate_pairs,
        device=trainer.dist.device,
        progress=False,
        rank=trainer.dist.rank,
        world_size=trainer.dist.world_size,
    )
    ref = [it["ref_logps"] for it in items]
    summary = trainer.train()
    if summary["final_dir"]:
        rows = [json.loads(line) for line in (Path(out_dir) / "metrics.jsonl").read_text().splitlines()]
        Path(out_dir, "result.json").write_text(
            json.dumps(
                {
                    "losses": [r["loss"] for r in rows],
                    "ref": ref,
                    "head": sorted(set(seen)),
                    "accuracy": [r["reward_accuracy"] for r in rows],
                }
            )
        )


def main(out_dir: str, strategy: str, zero_stage: int, grad_accum: int, tied: bool = True, model_dir: str = "") -> None:
    loaded = {}
    cfg = two_steps(out_dir, strategy, zero_stage, grad_accum, save_every=1, keep_last=2)
    if model_dir:  # loaded from disk the way the recipes load it: under ZeRO-3 partitioned as it loads
        from redstar.models import load_causal_lm
        from redstar.train.distributed import init_distributed
        from redstar.train.engine import load_settings

        init_distributed("cpu")  # the recipes join the process group before loading
        dtype, _keep = load_settings(cfg, int(os.environ.get("WORLD_SIZE", "1")))
        model, tok = load_causal_lm(model_dir, dtype=dtype)
        params = list(model.parameters())
        loaded = {
            "partitioned": all(hasattr(p, "ds_id") and p.numel() == 0 for p in params),
            "full_numel": sum(int(getattr(p, "ds_numel", p.numel())) for p in params),
        }
    else:
        model, tok = tiny_causal_lm(seed=3)
    if not tied:
        model.config.tie_word_embeddings = False
        model.lm_head.weight = torch.nn.Parameter(model.model.embed_tokens.weight.detach().clone())
    plan = [[0, 1], [2, 3], [4], [5, 6, 7]] * 2  # 8 micro-batches per epoch
    loader = PlanLoader(examples(), lambda epoch: plan, collate_packed)
    seen = []
    watch_head(model, seen)
    summary = Trainer(model, loss_fn, loader, cfg, out_dir, tokenizer=tok).train()
    if summary["final_dir"]:
        rows = [json.loads(line) for line in (Path(out_dir) / "metrics.jsonl").read_text().splitlines()]
        Path(out_dir, "result.json").write_text(
            json.dumps(
                {
                    "losses": [r["loss"] for r in rows],
                    "step": summary["step"],
                    "micro_targets": [r["micro_targets"] for r in rows],
                    "head": sorted(set(seen)),
                    "loaded": loaded,
                }
            )
        )


def main_rm(out_dir: str, strategy: str, zero_stage: int, grad_accum: int, model_dir: str, data_dir: str) -> None:
    """The reward-model recipe (redstar.rm.train) for two steps from a saved causal LM: it loads
    the model the way text SFT / DPO do (under ZeRO-3 partitioned as it loads)."""
    from redstar.rm.model import RewardModel
    from redstar.rm.train import RMDataConfig, RMTrainConfig, train
    from redstar.train.distributed import init_distributed

    loaded = {}
    real = RewardModel.from_causal_lm.__func__

    def spy(cls, *args, **kwargs):
        rm, tok = real(cls, *args, **kwargs)
        params = list(rm.parameters())
        loaded.update(
            partitioned=all(hasattr(p, "ds_id") and p.numel() == 0 for p in params),
            dtypes=sorted({str(p.dtype) for p in params}),
        )
        return rm, tok

    RewardModel.from_causal_lm = classmethod(spy)
    cfg = RMTrainConfig(
        model=model_dir,
        out=out_dir,
        data=RMDataConfig(
            samples=[str(Path(data_dir) / "samples.jsonl")],
            problems=str(Path(data_dir) / "problems.jsonl"),
            n=4,
            eval_fraction=0.25,
            max_len=128,
            groups_per_micro=2,
        ),
        train=two_steps(out_dir, strategy, zero_stage, grad_accum, device="cpu"),
    )
    result = train(cfg)
    RewardModel.from_causal_lm = classmethod(real)
    if init_distributed("cpu").is_main:
        rows = [json.loads(line) for line in (Path(out_dir) / "metrics.jsonl").read_text().splitlines()]
        Path(out_dir, "result.json").write_text(
            json.dumps(
                {
                    "losses": [r["loss"] for r in rows],
                    "loaded": loaded,
                    "before": result["eval_before"],
                    "after": result["eval_after"],
                }
            )
        )


if __name__ == "__main__":
    # zero_worker.py OUT GRAD_ACCUM STRATEGY:STAGE [STRATEGY:STAGE ...]: one process group, runs in turn.
    # STRATEGY: torch or deepspeed, rm- / dpo- in front for the reward-model / DPO run; STAGE: the ZeRO
    # stage, then load (the model from $ZERO_MODEL_DIR), offload (DPO) or resume (the run of that stage
    # before it, as if killed after its step-1 checkpoint, resumed in its directory)
    root, accum = sys.argv[1], int(sys.argv[2])
    for spec in sys.argv[3:]:
        strategy, stage = spec.split(":")
        kind, _, backend = strategy.rpartition("-")
        flag = stage.lstrip("0123456789")
        zero_stage = int(stage.removesuffix(flag))
        out = Path(root) / f"{strategy}{stage.removesuffix('resume')}"
        if kind == "rm":
            main_rm(str(out), backend, zero_stage, accum, os.environ["ZERO_MODEL_DIR"], os.environ["ZERO_RM_DATA"])
        elif kind == "dpo":
            main_dpo(str(out), backend, zero_stage, accum, offload=flag == "offload")
        else:
            if flag == "resume":
                if int(os.environ.get("RANK", "0")) == 0:
                    import shutil

                    shutil.rmtree(out / "checkpoints" / "step-000002")
                torch.distributed.barrier()
            model_dir = os.environ["ZERO_MODEL_DIR"] if flag == "load" else ""
            main(str(out), strategy, zero_stage, accum, model_dir=model_dir)
    # Every result is written by now. On CPU, DeepSpeed's and gloo's helper threads can abort the
    # interpreter's own teardown ("terminate called without an active exception"), which would
    # turn a finished run into a failed one: leave the group and exit without that teardown.
    sys.stdout.flush()
    sys.stderr.flush()
    if torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    os._exit(0)

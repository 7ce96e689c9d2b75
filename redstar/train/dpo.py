"""redstar dpo: direct preference optimisation of a text model on preference rows.

    redstar dpo CONFIG.yaml [key=value ...]

Rows are preference rows (``prompt`` messages, ``chosen`` / ``rejected`` assistant turns). The
reference log-probabilities come from the starting model (or ``ref_model``), computed once
before training; pairs are packed with per-sample positions and the loss is normalised by
pairs across accumulation and ranks. ``dpo.beta``, ``dpo.loss_type`` (sigmoid | ipo),
``dpo.label_smoothing`` (cDPO) and ``dpo.sft_weight`` (RPO) set the loss. The result is
``<out>/final`` (Hugging Face format, resolved config, model card) plus metrics.jsonl with the
implicit rewards (reward_chosen, reward_rejected, reward_margin, reward_accuracy).
Vision-language configs (``# schema: geo.dpo:VLDPOConfig``) run the recipe in geo. At cluster scale,
``redstar rl launch --algo dpo`` runs OpenRLHF's DPO on the same rows.

examples:
  redstar dpo configs/dpo_tiny_cpu.yaml out=runs/dpo_tiny
  redstar dpo configs/dpo_redstar.yaml model=runs/sft/final data.train=[runs/math/preferences.jsonl]
  torchrun --nproc_per_node=8 -m redstar.cli dpo configs/dpo_redstar.yaml train.strategy=deepspeed

Text DPO on the shared training engine: preference rows -> packed pairs -> the engine -> an HF model.

The fallback where OpenRLHF cannot run (one node, CPU tests). Reads top to bottom: config,
seed, data, tokenizer, model, reference log-probabilities, trainer, train, save.

- Each preference row (``prompt`` messages, ``chosen`` / ``rejected`` assistant turns) becomes
  two chat samples tokenised with assistant-only labels (``redstar.train.tokenize``); a
  micro-batch packs whole pairs ``[c0, r0, c1, r1, ...]`` with per-sample positions, so
  neither reply attends to the other, and one forward pass gives every reply's summed
  log-probability (one chunked pass of the head over the pack: no [T, V] logits).
- The reference model's log-probabilities are computed once, before any update (the starting
  policy, or ``ref_model``), each rank scoring a share of the packs, so no second model sits
  in memory during training.
- The engine normalises by pairs: the collator sets ``num_targets`` to the pair count.

``train_dpo`` is the one DPO path, text and vision-language: the vision-language recipe
(``geo.dpo``) passes its collator and its log-prob function. The loss is a pure function,
``dpo_loss``:

    Δ = (log π(c) - log π_ref(c)) - (log π(r) - log π_ref(r))
    sigmoid (Rafailov et al. 2023; cDPO with label smoothing ε):
        L = -(1 - ε) log σ(β Δ) - ε log σ(-β Δ)
    ipo (Azar et al. 2023):  L = (Δ - 1 / (2β))²
    implicit rewards: r_c = β (log π(c) - log π_ref(c)),  r_r = β (log π(r) - log π_ref(r))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F

from redstar.config import ConfigError, RowFilesConfig
from redstar.release.push import PushConfig
from redstar.train import recipe
from redstar.train.engine import TrainConfig, batch_to_device
from redstar.train.recipe import system_prompt as _system_prompt
from redstar.train.token_cache import cache_dir_field, num_proc_field


@dataclass
class DPOLossConfig:
    beta: float = field(default=0.1, metadata={"help": "strength of the KL anchor to the reference model"})
    loss_type: Literal["sigmoid", "ipo"] = field(default="sigmoid", metadata={"help": "sigmoid (DPO) or ipo"})
    label_smoothing: float = field(
        default=0.0, metadata={"help": "cDPO: probability that a preference label is flipped"}
    )
    sft_weight: float = field(default=0.0, metadata={"help": "RPO: weight of the chosen reply's mean token NLL"})

    def __post_init__(self):
        if self.beta <= 0 or not 0 <= self.label_smoothing < 0.5 or self.sft_weight < 0:
            raise ConfigError(
                f"dpo: beta must be > 0, label_smoothing in [0, 0.5) and sft_weight >= 0 "
                f"(got {self.beta}, {self.label_smoothing}, {self.sft_weight})"
            )
        if self.loss_type == "ipo" and self.label_smoothing:
            raise ConfigError("dpo: label_smoothing (cDPO) applies to loss_type sigmoid, not ipo")


# the help of attn_implementation in both DPO recipes (this one and geo/dpo.py)
DPO_ATTENTION_HELP = "attention kernel: auto picks the fastest available"


@dataclass
class DPODataConfig(RowFilesConfig):
    max_len: int = field(default=8192, metadata={"help": "tokens per side (prompt + reply); longer pairs are dropped"})
    pack_len: int = field(default=0, metadata={"help": "tokens per micro-batch (0: 2 * max_len, room for any pair)"})
    system_prompt_file: str = recipe.system_prompt_file_field()
    cache_dir: str = cache_dir_field()
    num_proc: int = num_proc_field()


@dataclass
class DPOConfig:
    data: DPODataConfig = field(metadata={"help": "preference data settings"})
    model: str = field(
        default="default", metadata={"help": 'the SFT model to start from: directory, hub id, "default", "tiny"'}
    )
    ref_model: str = recipe.ref_model_field()
    out: str = recipe.out_field("runs/dpo")
    modality: Literal["text", "vision"] = field(
        default="text", metadata={"help": "text, or vision to run the image+text recipe (geo.dpo)"}
    )
    attn_implementation: recipe.AttentionKind = recipe.attention_field(DPO_ATTENTION_HELP)
    dpo: DPOLossConfig = field(default_factory=DPOLossConfig, metadata={"help": "the DPO loss"})
    train: TrainConfig = recipe.train_field()
    push: PushConfig = recipe.push_field()


# ----------------------------------------------------------------------------- the loss


def dpo_loss(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    beta: float,
    label_smoothing: float = 0.0,
    loss_type: str = "sigmoid",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-pair DPO losses and implicit rewards. All inputs [P] summed reply log-probs.

    Returns (losses [P], chosen_rewards [P], rejected_rewards [P]); rewards are detached.
    """
    chosen_ratio = policy_chosen_logps - ref_chosen_logps  # [P]
    rejected_ratio = policy_rejected_logps - ref_rejected_logps  # [P]
    logits = chosen_ratio - rejected_ratio  # [P] Δ
    if loss_type == "sigmoid":
        losses = -(1 - label_smoothing) * F.logsigmoid(beta * logits) - label_smoothing * F.logsigmoid(-beta * logits)
    elif loss_type == "ipo":
        losses = (logits - 1 / (2 * beta)) ** 2
    else:
        raise ValueError(f"unknown DPO loss_type {loss_type!r} (sigmoid | ipo)")
    return losses, beta * chosen_ratio.detach(), beta * rejected_ratio.detach()


def reward_metrics(chosen_rewards: torch.Tensor, rejected_rewards: torch.Tensor) -> dict[str, float]:
    """Means of the implicit rewards, their margin and how often chosen beats rejected."""
    return {
        "reward_chosen": float(chosen_rewards.mean()),
        "reward_rejected": float(rejected_rewards.mean()),
        "reward_margin": float((chosen_rewards - rejected_rewards).mean()),
        "reward_accuracy": float((chosen_rewards > rejected_rewards).float().mean()),
    }


# ----------------------------------------------------------------------------- data


def read_pairs(data: DPODataConfig) -> tuple[list[dict], list[str], int]:
    """The preference rows of ``data.train`` (at most ``data.max_rows`` over all files), each
    row's source ('file:row N') for later errors, and the count of skipped bad rows."""
    from redstar.dataio import ReadStats, read_located
    from redstar.records import PreferenceRow

    read_stats = ReadStats()
    rows, wheres = read_located(
        data.train, schema=PreferenceRow, skip_bad=data.skip_bad, stats=read_stats, max_rows=data.max_rows
    )
    if not rows:
        raise ConfigError(f"no preference rows in {data.train}")
    return rows, wheres, read_stats.skipped


def tokenize_pairs(
    rows: list[dict],
    tok,
    max_len: int,
    system_prompt: str | None = None,
    progress: bool = True,
    wheres: list[str] | None = None,
    skip_bad: bool = False,
) -> tuple[list[dict], dict]:
    """Preference rows -> items ``{"chosen": ex, "rejected": ex}`` (``tokenize_chat`` examples).

    A pair is dropped (and counted) when either side is over ``max_len`` or has no target
    token: a truncated long-CoT reply would teach the model to stop before its answer. A row
    the chat template cannot split raises a RowError naming ``wheres[i]``, or with
    ``skip_bad`` is counted in ``bad_rows``.
    """
    from redstar.train.tokenize import tokenize_chat, tokenize_each

    def encode(row):
        return [
            tokenize_chat(list(row["prompt"]) + list(row[side]), tok, max_len, "last", system_prompt, "drop")
            for side in ("chosen", "rejected")
        ]

    kept, stats = tokenize_each(rows, encode, "tokenize pairs", progress, wheres, skip_bad)
    del stats["targets"]
    stats["pairs"] = len(kept)
    return [{"chosen": c, "rejected": r} for c, r in kept], stats


def pair_lengths(items: list[dict]) -> list[int]:
    return [len(it["chosen"]["input_ids"]) + len(it["rejected"]["input_ids"]) for it in items]


class CachedPairs:
    """The pairs of a token cache (``redstar.train.token_cache``, kind ``dpo``) as the DPO
    items: ``pairs[i]`` is ``{"chosen", "rejected"}`` read from the memory map, plus
    ``ref_logps`` once :func:`fill_reference_logps` has set it through ``pairs.records``
    (an [n, 2] array: a rank holds two numbers per pair, not the pairs)."""

    def __init__(self, cache):
        import numpy as np

        self.cache = cache
        self.ref = np.full((len(cache), 2), np.nan)
        self.records = _RefRecords(self.ref)

    def __len__(self) -> int:
        return len(self.cache)

    def __getitem__(self, i: int) -> dict:
        item = self.cache[i]
        if self.ref[i, 0] == self.ref[i, 0]:  # not NaN: filled
            item["ref_logps"] = self.ref[i].tolist()
        return item


class _RefRecords:
    """``records[i]["ref_logps"] = [chosen, rejected]`` writes row i of the array."""

    def __init__(self, ref):
        self.ref = ref

    def __getitem__(self, i: int):
        ref = self.ref

        class Slot:
            def __setitem__(self, key, value):
                if key != "ref_logps":
                    raise KeyError(key)
                ref[i] = value

        return Slot()


def token_cache(data: DPODataConfig, tok, dist, budget: int, progress: bool = True):
    """The preference rows tokenised once (see ``redstar.train.token_cache``), every row
    accounted for; raises a ``ConfigError`` when no pair is left."""
    from redstar.records import PreferenceRow
    from redstar.train.token_cache import ChatEncoder, open_data_cache

    cache = open_data_cache(
        "dpo",
        data,
        tok,
        ChatEncoder("dpo", data.max_len, system_prompt=_system_prompt(data)),
        schema=PreferenceRow,
        dist=dist,
        budget=budget,
        progress=progress,
    )
    stats = cache.stats
    if not stats["rows"]:
        raise ConfigError(f"no preference rows in {data.train}")
    if not stats["used"]:
        raise ConfigError(f"{data.train}: every pair was dropped ({stats}); raise data.max_len?")
    return cache


def collate_pairs(items: list[dict], pad_token_id: int = 0, pack_len: int | None = None) -> dict:
    """Pack whole pairs as samples ``[c0, r0, c1, r1, ...]``; ``num_targets`` = pairs.

    Adds ``ref_logps`` [2P] (same order) when the items carry reference log-probs, and
    ``pack_len`` (the micro-batch budget: a constant head chunk count under ZeRO-3) when given.
    """
    from redstar.train.packing import collate_packed

    batch = collate_packed(
        [ex for it in items for ex in (it["chosen"], it["rejected"])], pad_token_id=pad_token_id, pack_len=pack_len
    )
    if all("ref_logps" in it for it in items):
        batch["ref_logps"] = torch.tensor([lp for it in items for lp in it["ref_logps"]], dtype=torch.float32)
    batch["num_targets"] = len(items)
    return batch


# ----------------------------------------------------------------------------- log-probs


def sequence_logps(model, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """(summed reply-token log-probs [S], reply token counts [S]) for each sample of a packed
    batch, from one forward pass and one chunked pass of the head over every target of the
    pack (``loss.sample_logps``): one fp32 weight-gradient buffer per pack, not per sample,
    and under ZeRO-3 the head is called as a module (gathered by design)."""
    from redstar.train import loss
    from redstar.train.loss import pack_sample_index, packed_attention_kwargs, sample_logps

    decoder = model.get_decoder() if hasattr(model, "get_decoder") else model.model
    hidden = decoder(
        input_ids=batch["input_ids"],
        position_ids=batch["position_ids"],
        **packed_attention_kwargs(model, batch),
        use_cache=False,
    ).last_hidden_state  # [1, T, H]
    labels = batch["labels"]  # [1, T] shifted per sample
    cu = batch["cu_seqlens"]  # [S + 1], no padding sample
    idx = pack_sample_index(cu, labels.shape[-1])  # [1, T]
    head_chunks = loss.head_chunks(batch.get("pack_len"))
    return sample_logps(hidden, model.get_output_embeddings(), labels, idx, len(cu) - 1, n_chunks=head_chunks)


@torch.no_grad()
def fill_reference_logps(
    model,
    items,
    packs: list[list[int]],
    collate,
    logps_fn=None,
    device: str = "cpu",
    autocast: bool = False,
    progress: bool = True,
    rank: int = 0,
    world_size: int = 1,
    records=None,
) -> None:
    """Set ``records[i]["ref_logps"] = [chosen, rejected]`` for every pair ``items[i]`` with ``model``.

    ``packs`` (micro-batches of pair indices, each pair exactly once) are collated with
    ``collate(list of items) -> batch`` and scored with ``logps_fn`` (default: the text
    ``sequence_logps``; chosen/rejected interleaved). ``records`` is where each pair keeps its
    values, ``items`` itself by default (the vision-language items decode their images on
    access and keep them in ``items.items``). The packs are split over the ``world_size``
    ranks (each computes its share; all ranks make the same number of forward passes, a rank
    short of packs repeats one, since under ZeRO-3 every forward is a collective) and the
    results are all-reduced, so every rank ends with every pair's reference log-probs. Runs
    with autograd off: no gradient work."""
    from tqdm import tqdm

    logps_fn = logps_fn or sequence_logps
    records = items if records is None else records
    if sorted(i for pack in packs for i in pack) != list(range(len(items))):
        raise ValueError("reference packs must hold every pair exactly once")
    was_training = model.training
    model.eval()
    mine = packs[rank::world_size]
    n_passes = -(-len(packs) // world_size)
    out = torch.zeros((len(items), 2), dtype=torch.float64)
    for k in tqdm(range(n_passes), desc="reference log-probs", disable=not progress, unit="pack"):
        pack = mine[k] if k < len(mine) else (mine[-1] if mine else packs[0])  # a repeat is discarded
        batch = batch_to_device(collate([items[i] for i in pack]), device)
        with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=autocast):
            logps, _ = logps_fn(model, batch)  # [2P]
        if k < len(mine):
            out[pack] = logps.detach().double().cpu().view(-1, 2)
    if world_size > 1:
        # each pair was computed by exactly one rank, the others hold 0 there: a sum gathers them
        out = out.to(device)
        torch.distributed.all_reduce(out)
        out = out.cpu()
    for i in range(len(items)):
        records[i]["ref_logps"] = [float(out[i, 0]), float(out[i, 1])]
    model.train(was_training)


def make_loss_fn(cfg: DPOLossConfig, logps_fn=None):
    """The engine's ``loss_fn(model, batch) -> (loss summed over pairs, pairs, metrics)``.

    ``logps_fn(model, batch) -> (summed reply log-probs [2P], reply token counts [2P])`` with
    chosen/rejected interleaved; the text default is ``sequence_logps``, the vision-language
    recipe passes its own."""
    logps_fn = logps_fn or sequence_logps

    def loss_fn(model, batch):
        logps, counts = logps_fn(model, batch)  # [2P], [2P]
        ref = batch["ref_logps"].to(logps)  # [2P]
        losses, r_c, r_r = dpo_loss(
            logps[0::2], logps[1::2], ref[0::2], ref[1::2], cfg.beta, cfg.label_smoothing, cfg.loss_type
        )  # [P] each
        if cfg.sft_weight:
            losses = losses + cfg.sft_weight * (-logps[0::2] / counts[0::2].clamp(min=1))
        return losses.sum(), int(losses.shape[0]), reward_metrics(r_c, r_r)

    return loss_fn


def train_dpo(
    model,
    items,
    plan_fn,
    collate,
    loss: DPOLossConfig,
    tcfg: TrainConfig,
    out: str,
    *,
    dist,
    logps_fn=None,
    load_reference=None,
    records=None,
    describe=None,
    **trainer_kw,
) -> dict:
    """The one DPO path, text and vision-language: the engine trains ``model`` on the pairs
    ``items`` with the DPO loss, after computing each pair's reference log-probabilities once.

    ``plan_fn(epoch)`` gives the micro-batches (pair indices; epoch 0's also batches the
    reference pass), ``collate(list of items) -> batch`` puts a micro-batch's pairs as samples
    ``[c0, r0, c1, r1, ...]`` with ``ref_logps`` [2P] once ``records[i]["ref_logps"]`` is set and
    ``num_targets`` = pairs, and ``logps_fn(model, batch) -> (summed reply log-probs [2P],
    reply token counts [2P])`` scores it (default: the text ``sequence_logps``). The reference
    model is the engine's own model before any update (sharded under ZeRO-3, in the training
    dtype under DeepSpeed), or ``load_reference()`` (loaded whole, in the training dtype, by
    a recipe with ``ref_model``); either way each rank scores a share of the packs
    (``fill_reference_logps``). ``describe(trainer) -> str`` is printed on the main rank before
    training; ``trainer_kw`` go to ``Trainer``. Returns the trainer's summary."""
    from redstar.train.engine import PlanLoader, Trainer

    trainer = Trainer(
        model, make_loss_fn(loss, logps_fn), PlanLoader(items, plan_fn, collate), tcfg, out, dist=dist, **trainer_kw
    )
    ref = load_reference().to(dist.device) if load_reference else trainer.backend.loss_model
    fill_reference_logps(
        ref,
        items,
        plan_fn(0),
        collate,
        logps_fn,
        dist.device,
        trainer.autocast,
        dist.is_main and tcfg.progress,
        dist.rank,
        dist.world_size,
        records,
    )
    del ref
    if dist.is_main and describe:
        print(describe(trainer))
    return trainer.train()


# ----------------------------------------------------------------------------- recipe


def _load_model(name: str, attn: str, seed: int, dtype: str = "float32"):
    if name == "tiny":  # a random Qwen2-style model for smoke runs and tests
        from redstar.models import tiny_causal_lm

        model, tok = tiny_causal_lm(seed=seed)
        return model.to(getattr(torch, dtype)), tok
    from redstar.models import load_causal_lm

    return load_causal_lm(name, dtype=dtype, attn_implementation=attn)


def model_card(cfg: DPOConfig, stats: dict, state: dict) -> str:
    data = "\n".join(f"- `{d}`" for d in cfg.data.train)
    d = cfg.dpo
    from redstar.release.model_card import render_model_card

    return render_model_card(
        {"base_model": cfg.model, "tags": ["dpo", "long-cot", "math"]},
        f"""# redstar DPO

Trained from `{cfg.model}` with `redstar dpo` ({d.loss_type} loss, beta {d.beta}, label smoothing
{d.label_smoothing}, SFT weight {d.sft_weight}); reference: `{cfg.ref_model or cfg.model}` (log-probs
computed once before training).

## Data
{data}

Rows: {stats["rows"]}; pairs used: {stats["pairs"]} (dropped over {cfg.data.max_len} tokens: {stats["too_long"]},
without targets: {stats["no_targets"]}); tokens: {stats["tokens"]}.

## Training
lr {cfg.train.lr} ({cfg.train.schedule}), {state["step"]} optimizer steps, seed {cfg.train.seed}.
The full resolved config is `redstar_config.yaml`.
""",
    )


def run(cfg: DPOConfig) -> dict:
    from redstar.train.checkpoint import data_key
    from redstar.train.recipe import load_for_training, seed_and_devices

    if cfg.modality == "vision":
        raise ConfigError(
            "modality: vision DPO configs are trained by the vision-language recipe (geo), "
            "which 'redstar dpo' runs for a config whose first line is '# schema: geo.dpo:VLDPOConfig'"
        )
    if not cfg.data.train:
        raise ConfigError("DPO config: data.train lists no preference files")
    tcfg = cfg.train
    dist = seed_and_devices(tcfg)  # seed first: data order and anything random in the model follow from it

    # the policy; a separate reference model loads later, whole, outside ZeRO-3
    attn, (model, tok) = load_for_training(
        lambda attn, dtype: _load_model(cfg.model, attn, tcfg.seed, dtype=dtype), tcfg, dist, cfg.attn_implementation
    )
    if tok.chat_template is None:
        raise ConfigError(f"{cfg.model}: the tokenizer has no chat template; preference rows need one")
    budget = cfg.data.pack_len or 2 * cfg.data.max_len
    cache = token_cache(cfg.data, tok, dist, budget, dist.is_main and tcfg.progress)
    stats = {**cache.stats, "pairs": cache.stats["used"], "token_cache": str(cache.path)}
    longest = int(cache.lengths().max())
    if longest > budget:
        raise ConfigError(f"data.pack_len {budget} is shorter than the longest pair ({longest} tokens)")
    items = CachedPairs(cache)
    pad = tok.pad_token_id or 0
    if dist.is_main:
        from redstar.rundir import add_to_record

        add_to_record(cfg.out, "token_caches", "dpo", str(cache.path))

    def describe(trainer) -> str:
        return (
            f"{stats['rows']} preference rows -> {len(items)} pairs in {len(cache.pack_plan(budget))} "
            f"packs of {budget}; {cfg.dpo.loss_type} beta {cfg.dpo.beta}; {trainer.total_steps} steps, "
            f"attention {attn}"
        )

    summary = train_dpo(
        model,
        items,
        lambda epoch: cache.pack_plan(budget, seed=tcfg.seed + epoch),
        lambda batch_items: collate_pairs(batch_items, pad, budget),
        cfg.dpo,
        tcfg,
        cfg.out,
        dist=dist,
        load_reference=(lambda: _load_model(cfg.ref_model, attn, tcfg.seed, dtype=tcfg.dtype)[0])
        if cfg.ref_model
        else None,
        describe=describe,
        records=items.records,
        tokenizer=tok,
        run_config=cfg,
        data_key=data_key(cfg.data.train, max_len=cfg.data.max_len, pack_len=budget, max_rows=cfg.data.max_rows),
        model_card=lambda state: model_card(cfg, stats, state),
    )
    summary["data"] = stats
    return summary


# the command: `redstar dpo CONFIG.yaml`; its arguments stand in RECIPES (redstar/cli.py)


def main(args) -> int:
    from redstar.config import config_from_args
    from redstar.rundir import local_model, run_training

    cfg = config_from_args(DPOConfig, args)
    if cfg is None:
        return 0
    inputs = list(cfg.data.train) + local_model(cfg.model)
    s = run_training("dpo", cfg, run, inputs, overwrite=getattr(args, "overwrite", False))
    if s is not None:
        print(f"final model: {s['final_dir']} (loss {s['final_loss']:.4f}, {s['step']} steps)")
    return 0

"""The training engine shared by text SFT, DPO, the reward model and the vision-language recipes.

The math lives here once; recipes bring a model, data and a loss function.

**1. Data -> micro-batches.** Tokenise chat rows with assistant-only labels, then pack::

    from redstar.train.tokenize import tokenize_chat, tokenize_rows
    ex = tokenize_chat(messages, tok, max_len=16384, train_on="last")   # {"input_ids", "labels"} unshifted

    from redstar.train.packing import best_fit_pack, collate_packed, collate_padded, fixed_batches
    plan_fn = lambda epoch: best_fit_pack([len(e["input_ids"]) for e in examples], budget=16384, seed=seed + epoch)
    batch = collate_packed([examples[i] for i in plan_fn(0)[0]])
    # batch: input_ids / labels / position_ids [1, T]; labels already shifted *per sample*
    # (-100 at each sample's last token); position_ids restart at 0 per sample, which is what
    # keeps attention inside each sample (attention.py); cu_seqlens int32 [n+1], max_seqlen,
    # num_targets (int). Pairs (DPO) use fixed_batches(n, batch_size, seed) + their own collate.

**2. Loss.** ``loss_fn(model, batch) -> (loss_sum, n_targets, metrics)`` returns the *sum*
over targets, never the mean. ``redstar.train.loss`` has the pieces::

    loss_sum, n = linear_cross_entropy(hidden [B,T,H], head.weight [V,H], labels [B,T])
        # chunked (or liger) CE: never builds [T, V] logits; labels already shifted
    causal_lm_loss(model, batch)          # the SFT loss_fn (decoder + chunked head)
    N = global_target_count([count per micro-batch], device)   # summed over micro-batches, all-reduced
    scale_for_backward(loss_sum, N, world_size)                # what each micro-batch back-propagates

A DPO or RM collator sets ``batch["num_targets"]`` to its pair / group count; the engine
reads it before the forward pass to normalise the whole step (count_targets).

**3. The loop.** ::

    from redstar.train.engine import PlanLoader, Trainer, TrainConfig
    loader = PlanLoader(examples, plan_fn, collate_packed)     # dataset[i], plan per epoch, collate
    trainer = Trainer(model, loss_fn, loader, TrainConfig(lr=1e-5, grad_accum=4, strategy="deepspeed",
                      zero_stage=3), out_dir="runs/x", tokenizer=tok, run_config=cfg,
                      model_card=lambda state: "# ...")
    summary = trainer.train()   # resumes from runs/x/checkpoints; writes runs/x/final (HF format),
                                # metrics.jsonl, tensorboard/, loss.png

``TrainConfig`` is a dataclass to embed in a recipe config (``train: TrainConfig``). The
backends (single process, torch data parallel under torchrun, DeepSpeed ZeRO-2/3 with optional
offload) are in distributed.py; checkpoints and the final export in checkpoint.py. The SFT
recipe (sft.py, ``redstar sft``) is the worked example.
"""

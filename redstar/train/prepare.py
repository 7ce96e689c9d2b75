"""The prep job of a cluster run: tokenise an SFT, DPO or reward-model config's rows into the token cache
with every core of a CPU node, loading no model, so the GPU job that follows starts training
at once (its ranks find the cache and only map it).

    python -m redstar.train.prepare CONFIG.yaml [key=value ...]
    sbatch -c 64 --wrap "python -m redstar.train.prepare configs/sft_redstar_longcot.yaml data.num_proc=64"
    sbatch --dependency=afterok:<prep job id> launch/slurm_sft.sbatch configs/sft_redstar_longcot.yaml

The config and overrides are the training command's own (the same ``data.cache_dir``, on a
filesystem the GPU nodes see). Prints each cache's directory and row counts; exits 2 with a
one-line error (a bad row's ``file:line``) like the training commands.
"""

from __future__ import annotations

import sys


def tokenizer_for(model: str):
    """The tokenizer a training run of ``model`` uses (``tiny``: the test model's)."""
    if model == "tiny":
        from redstar.models import tiny_tokenizer

        return tiny_tokenizer()
    from redstar.models import load_tokenizer

    return load_tokenizer(model)


def prepare(path: str, overrides: list[str]) -> list[tuple[str, object]]:
    """Build (or find) the token cache of every stage of the config at ``path``: [(name, cache)]
    (a reward model's: its groups, for ``train.seed``)."""
    from redstar.config import ConfigError, config_schema, load_config

    schema = config_schema(path) or ""
    if schema.endswith(":DPOConfig") and schema.startswith("redstar.train.dpo"):
        from redstar.train.dpo import DPOConfig, token_cache

        cfg = load_config(DPOConfig, path, overrides)
        budget = cfg.data.pack_len or 2 * cfg.data.max_len
        return [("dpo", token_cache(cfg.data, tokenizer_for(cfg.model), None, budget))]
    if schema.endswith(":SFTConfig") and schema.startswith("redstar.train.sft"):
        from redstar.train.sft import SFTConfig, resolve_stages, token_cache

        cfg = load_config(SFTConfig, path, overrides)
        tok = tokenizer_for(cfg.model)  # later stages train the first one's output: the same tokenizer
        return [
            (s.name, token_cache(s.data, tok, None, s.data.pack_len or s.data.max_len)) for s in resolve_stages(cfg)
        ]
    if schema.endswith(":RMTrainConfig") and schema.startswith("redstar.rm.train"):
        from redstar.rm.data import open_rm_cache
        from redstar.rm.train import RMTrainConfig

        cfg = load_config(RMTrainConfig, path, overrides)
        return [("rm", open_rm_cache(cfg.data, tokenizer_for(cfg.model), seed=cfg.train.seed).cache)]
    raise ConfigError(
        f"{path}: prepare takes a text SFT, DPO or reward-model config (first line '# schema: redstar.train.sft:SFTConfig', "
        f"'# schema: redstar.train.dpo:DPOConfig' or '# schema: redstar.rm.train:RMTrainConfig'), got {schema or 'no schema line'}"
    )


def main(argv: list[str] | None = None) -> int:
    from redstar.config import ConfigError

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    try:
        for name, cache in prepare(argv[0], argv[1:]):
            s = cache.stats
            print(
                f"[{name}] {cache.path}: rows read {s['rows_read']}, used {s['used']}, skipped as malformed "
                f"{s['bad_rows']}, over max_len {s['too_long']}, without targets {s['no_targets']}; "
                f"{s['tokens']} tokens (built in {cache.meta['build_seconds']} s with {cache.meta['num_proc']} "
                "process(es))"
            )
    except (ConfigError, FileNotFoundError, ValueError) as e:
        print(f"redstar prepare: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""redstar sft (modality: vision): image+text SFT of a Qwen2-VL / Qwen2.5-VL / InternVL model.

    redstar sft CONFIG.yaml [key=value ...]

Reached when the YAML has top-level ``modality: vision`` (schema geo.sft:VLSFTConfig). Rows
are SFT rows (``messages`` + ``images``, paths relative to the data file; ``<image>`` markers
in the text, or the images go before the first user turn). Samples are packed with per-sample
multimodal rotary positions; ``freeze.*`` picks which of vision tower / projector / language
model train, each with its own lr. Broken images stop the run naming file:line, or with
``data.skip_bad=true`` are skipped and counted. Output: ``<out>/final`` (HF format, processor,
redstar_config.yaml, model card), metrics.jsonl, loss.png.

examples:
  python -m geo.generator --out data/geo_synth --n 64
  redstar sft configs/geo_sft_tiny.yaml out=runs/geo_sft_tiny
  redstar sft configs/geo_sft_qwen2vl.yaml data.train=[data/geoqa_sft.jsonl] train.lr=1e-5
"""

from __future__ import annotations


def add_arguments(parser) -> None:
    from redstar.config import add_config_arguments

    add_config_arguments(parser, "geo.sft:VLSFTConfig", "train.lr=1e-5 freeze.train_vision=true")


def run(args) -> int:
    from geo.sft import VLSFTConfig
    from geo.sft import run as run_sft
    from redstar.config import config_from_args

    cfg = config_from_args(VLSFTConfig, args)
    if cfg is None:
        return 0
    s = run_sft(cfg)
    d = s["data"]
    print(
        f"final model: {s['final_dir']} (loss {s['final_loss']:.4f}, {s['step']} steps; rows {d['rows']}, "
        f"broken images skipped {d['bad_images']}, bad rows {d['bad_rows']})"
    )
    return 0

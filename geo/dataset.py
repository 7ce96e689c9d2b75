"""Image+text rows -> encoded training items, with images decoded lazily.

Tokens are small, pixels are not: a few thousand geometry diagrams at Qwen2-VL's default
bound are tens of GB of ``pixel_values``. So rows are encoded once up front (token ids,
assistant labels, multimodal token types; every image opened and validated so a broken file
fails before training, naming its ``file:line``), and only the image *sources* are kept. The
engine's loader asks ``dataset[i]`` per micro-batch, which decodes the images again and runs
the model's image processor: the same tensors the full processor gave, at no memory cost.

    data = encode_sft_rows(["data/geo_sft.jsonl"], processor, VLDataConfig(...))
    data[0]   # [example] with input_ids, labels, mm_token_type_ids, pixel_values, image_grid_thw
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from geo.collate import _TOKEN_KEYS, encode_chat
from geo.images import ImageError, load_row_images
from redstar.config import RowFilesConfig
from redstar.dataio import ReadStats, iter_jsonl_located, read_rows
from redstar.records import PreferenceRow, RowError, SFTRow
from redstar.train.tokenize import TooLong


@dataclass(kw_only=True)  # train is required, after the shared keys that have defaults
class VLDataConfig(RowFilesConfig):
    train: list[str] = field(metadata={"help": "JSONL / JSON / Parquet files or dirs of rows"})
    max_len: int = field(default=4096, metadata={"help": "tokens per sample, image tokens included"})
    pack_len: int = field(default=0, metadata={"help": "tokens per packed micro-batch (0: max_len)"})
    pack: bool = field(default=True, metadata={"help": "false: one padded row per sample"})
    batch_size: int = field(default=1, metadata={"help": "samples (SFT) or pairs (DPO) per unpacked micro-batch"})
    train_on: Literal["last", "all"] = field(default="last", metadata={"help": "which assistant turns carry the loss"})
    skip_bad: bool = field(default=False, metadata={"help": "skip (and count) bad rows and broken images"})
    image_root: str = field(default="", metadata={"help": "base of relative image paths (default: the file's dir)"})
    min_pixels: int = field(default=0, metadata={"help": "smallest image size in pixels (0: the processor's default)"})
    max_pixels: int = field(default=0, metadata={"help": "largest image size in pixels (0: the processor's default)"})


def iter_rows(src: str, schema, skip_bad: bool, stats: ReadStats) -> Iterator[tuple[str, dict]]:
    """(where, row): ``file:line`` for JSONL (so an image error names its line), ``file#k``
    for other formats."""
    if Path(src).is_file() and Path(src).suffix == ".jsonl":
        yield from iter_jsonl_located(src, schema, skip_bad, stats)
        return
    for k, row in enumerate(read_rows(src, schema=schema, skip_bad=skip_bad, stats=stats), 1):
        yield f"{src}#{k}", row


def _base_dir(src: str, data: VLDataConfig) -> str:
    if data.image_root:
        return data.image_root
    p = Path(src)
    return str(p if p.is_dir() else p.parent)


class VLItems:
    """``items[i]`` -> a list of full examples (1 for SFT, [chosen, rejected] for DPO)
    whose image tensors are computed now from the stored sources."""

    def __init__(self, items: list[dict], processor, data: VLDataConfig):
        self.items, self.processor, self.data = items, processor, data

    def __len__(self) -> int:
        return len(self.items)

    def lengths(self) -> list[int]:
        return [sum(len(p["input_ids"]) for p in it["parts"]) for it in self.items]

    def __getitem__(self, i: int) -> list[dict]:
        it = self.items[i]
        tensors: dict[str, Any] = {}
        if it["images"]:
            imgs = load_row_images(it["images"], it["base"], it["where"], **_bounds(self.data))
            # through the processor itself (with only the image placeholders as text) so its
            # own image settings apply: InternVL tiles here, its bare image processor does not
            out = self.processor(text=[self.processor.image_token * len(imgs)], images=imgs, return_tensors="pt")
            tensors = {k: v for k, v in out.items() if hasattr(v, "shape") and k not in _TOKEN_KEYS}
        return [
            {**p, **tensors, **({"ref_logps": it["ref_logps"][j]} if "ref_logps" in it else {})}
            for j, p in enumerate(it["parts"])
        ]


def _bounds(data: VLDataConfig) -> dict:
    return {"min_pixels": data.min_pixels or None, "max_pixels": data.max_pixels or None}


def _strip(ex: dict) -> dict:
    return {k: v for k, v in ex.items() if k in ("input_ids", "labels", "mm_token_type_ids")}


def encode_rows(
    data: VLDataConfig, processor, kind: Literal["sft", "preference"], progress: bool = True
) -> tuple[VLItems, dict]:
    """Read, validate and encode every row. Returns (items, stats); stats counts rows read,
    bad rows, broken images, rows over ``max_len`` and tokens."""
    from tqdm import tqdm

    schema = SFTRow if kind == "sft" else PreferenceRow
    read_stats = ReadStats()
    stats = {
        "rows": 0,
        "bad_rows": 0,
        "bad_images": 0,
        "too_long": 0,
        "no_targets": 0,
        "tokens": 0,
        "targets": 0,
        "images": 0,
        "skipped_where": [],
    }
    system = data.system_prompt or None
    items = []
    rows = []
    for src in data.train:
        for where, row in iter_rows(src, schema, data.skip_bad, read_stats):
            rows.append((where, _base_dir(src, data), row))
            if data.max_rows and len(rows) >= data.max_rows:
                break
        if data.max_rows and len(rows) >= data.max_rows:
            break
    for where, base, row in tqdm(rows, desc=f"encode {kind}", disable=not progress, unit="row"):
        stats["rows"] += 1
        srcs = list(row.get("images") or [])
        try:
            imgs = load_row_images(srcs, base, where, **_bounds(data))
            if kind == "sft":
                convs = [row["messages"]]
            else:
                convs = [list(row["prompt"]) + list(row["chosen"]), list(row["prompt"]) + list(row["rejected"])]
            parts = [
                encode_chat(c, imgs, processor, data.max_len, data.train_on if kind == "sft" else "last", system, where)
                for c in convs
            ]
        except ImageError as e:
            if not data.skip_bad:
                raise
            stats["bad_images"] += 1
            stats["skipped_where"].append(str(e))
            continue
        except TooLong:
            stats["too_long"] += 1
            continue
        n_t = [sum(1 for y in p["labels"][1:] if y != -100) for p in parts]
        if min(n_t) == 0:
            stats["no_targets"] += 1
            continue
        stats["tokens"] += sum(len(p["input_ids"]) for p in parts)
        stats["targets"] += sum(n_t)
        stats["images"] += len(srcs)
        items.append({"parts": [_strip(p) for p in parts], "images": srcs, "base": base, "where": where})
    stats["bad_rows"] = read_stats.skipped
    stats["skipped_where"] = (read_stats.skipped_where + stats["skipped_where"])[:20]
    if not items:
        raise RowError(f"{data.train}: no usable rows ({ {k: v for k, v in stats.items() if k != 'skipped_where'} })")
    return VLItems(items, processor, data), stats

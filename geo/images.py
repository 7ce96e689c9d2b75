"""Images for vision-language rows: load, validate, convert, bound their size.

Rows name their images in several ways and all of them arrive here:

- a path, relative to the data file (``"images/12.png"`` next to ``train.jsonl``) or absolute;
- raw bytes (MathVista's Parquet ``decoded_image``) or an HF ``Image`` feature dict
  ``{"bytes": ..., "path": ...}``;
- a ``PIL.Image`` already in memory.

A missing or corrupt image is the user's to fix, so it raises :class:`ImageError` (a
``RowError``) naming the row (``file:line``) and the image; with ``skip_bad`` the caller counts
and skips the row instead. Pixels are bounded per image (``min_pixels`` / ``max_pixels``)
because a single 4000x3000 scan would otherwise become ~15k vision tokens on Qwen2-VL.

    img = load_image("images/3.png", base_dir="data/", where="data/train.jsonl:4")
    imgs = load_row_images(row["images"], base_dir, where, max_pixels=1024 * 28 * 28)
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from redstar.records import RowError


class ImageError(RowError):
    """An image of a row cannot be found or decoded."""


def _open(src: Any, base_dir: str | os.PathLike | None, where: str | None):
    from PIL import Image, UnidentifiedImageError

    if isinstance(src, Image.Image):
        return src, "<PIL image>"
    if isinstance(src, dict):  # HF datasets Image feature
        if src.get("bytes"):
            src = src["bytes"]
        elif src.get("path"):
            src = src["path"]
        else:
            raise ImageError("image dict has neither 'bytes' nor 'path'", where)
    if isinstance(src, (bytes, bytearray, memoryview)):
        name, fh = f"<{len(src)} bytes>", io.BytesIO(bytes(src))
    elif isinstance(src, (str, os.PathLike)):
        path = Path(src)
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        name = str(path)
        if not path.is_file():
            raise ImageError(f"image not found: {name}", where)
        fh = path
    else:
        raise ImageError(f"cannot read an image from {type(src).__name__}", where)
    try:
        img = Image.open(fh)
        img.load()  # decode now: a truncated file fails here, not inside the collator
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"corrupt or unreadable image {name}: {e}", where) from None
    return img, name


def to_rgb(img, background: tuple[int, int, int] = (255, 255, 255)):
    """Convert any PIL mode to RGB; transparency is flattened onto a white background
    (geometry diagrams are black lines on transparent PNGs: black-on-black would erase them)."""
    from PIL import Image

    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        out = Image.new("RGB", rgba.size, background)
        out.paste(rgba, mask=rgba.getchannel("A"))
        return out
    return img.convert("RGB")


def bounded_size(
    width: int, height: int, min_pixels: int | None = None, max_pixels: int | None = None, factor: int = 1
) -> tuple[int, int]:
    """(w, h) with the aspect ratio kept, area within [min_pixels, max_pixels], and both sides
    multiples of ``factor`` (28 for Qwen2-VL: 14-pixel patches merged 2x2) and >= ``factor``."""
    if width <= 0 or height <= 0:
        raise ValueError(f"image has an empty size {width}x{height}")
    scale = 1.0
    area = width * height
    if max_pixels and area > max_pixels:
        scale = math.sqrt(max_pixels / area)
    elif min_pixels and area < min_pixels:
        scale = math.sqrt(min_pixels / area)
    w, h = width * scale, height * scale
    if factor > 1:
        # round to the grid, then make sure rounding did not push the area past the bound
        w = max(factor, round(w / factor) * factor)
        h = max(factor, round(h / factor) * factor)
        while max_pixels and w * h > max_pixels and max(w, h) > factor:
            if w >= h:
                w -= factor
            else:
                h -= factor
    if min_pixels and scale > 1:  # scaled up: round up so the bound still holds
        return max(1, math.ceil(w)), max(1, math.ceil(h))
    return max(1, int(w)), max(1, int(h))


def bound_pixels(img, min_pixels: int | None = None, max_pixels: int | None = None, factor: int = 1):
    """Resize ``img`` (bicubic) so its area lies in [min_pixels, max_pixels]; a no-op when it does."""
    from PIL import Image

    w, h = bounded_size(img.width, img.height, min_pixels, max_pixels, factor)
    if (w, h) == img.size:
        return img
    return img.resize((w, h), Image.Resampling.BICUBIC)


def load_image(
    src: Any,
    base_dir: str | os.PathLike | None = None,
    where: str | None = None,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
    factor: int = 1,
):
    """Load one image as RGB, bounded in pixels. Raises :class:`ImageError` naming ``where``."""
    img, name = _open(src, base_dir, where)
    if img.width < 1 or img.height < 1:
        raise ImageError(f"image {name} is empty ({img.width}x{img.height})", where)
    return bound_pixels(to_rgb(img), min_pixels, max_pixels, factor)


def load_row_images(
    images: Iterable[Any] | None, base_dir: str | os.PathLike | None = None, where: str | None = None, **bounds
) -> list:
    """All images of one row, in order (the order of the image placeholders in its text)."""
    return [load_image(src, base_dir, where, **bounds) for src in (images or [])]


def set_processor_pixels(processor, min_pixels: int | None = None, max_pixels: int | None = None) -> None:
    """Bound pixels inside the model's own image processor (Qwen2-VL family: it resizes to a
    28-multiple grid itself, so bounding there gives exactly the token count the model sees)."""
    ip = getattr(processor, "image_processor", None)
    if ip is None:
        return
    size = dict(getattr(ip, "size", None) or {})
    if "shortest_edge" in size or "longest_edge" in size or hasattr(ip, "min_pixels"):
        if min_pixels:
            size["shortest_edge"] = int(min_pixels)
            if hasattr(ip, "min_pixels"):
                ip.min_pixels = int(min_pixels)
        if max_pixels:
            size["longest_edge"] = int(max_pixels)
            if hasattr(ip, "max_pixels"):
                ip.max_pixels = int(max_pixels)
        ip.size = size

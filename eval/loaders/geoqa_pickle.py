"""The original GeoQA release (``test.pk``): a pickled list of dicts with ``id``, the problem
text (``English problem`` in GeoQA+, else ``problem``), ``choices`` (list of texts), ``label``
(index of the right choice), ``image`` (a numpy array) and ``subject`` when present. An
item's category is its subject; without one it is left empty for ``load_geoqa`` to infer.

Only reached with ``allow_pickle=True``: ``pickle.load`` executes code named in the file.
"""

from __future__ import annotations

import pickle
from pathlib import Path

from eval.items import LETTERS, EvalItem, ItemError, LoadResult, check_letter
from eval.loaders.common import build_items, choice_item
from redstar.records import RowError

_SUBJECTS = {"angle": "angle", "length": "length", "other": "other", "角度": "angle", "长度": "length", "其他": "other"}


def load_geoqa_pickle(path: Path, strict: bool = False) -> LoadResult:
    from PIL import Image

    with open(path, "rb") as f:
        data = pickle.load(f)
    if not isinstance(data, list):
        raise RowError(f"expected a pickled list of problems, got {type(data).__name__}", str(path))
    res = LoadResult(strict=strict)

    def make(rid: str, row: dict) -> EvalItem:
        if not isinstance(row, dict):
            raise ItemError("not a dict")
        question = str(row.get("English problem") or row.get("problem") or "").strip()
        if not question:
            raise ItemError("empty problem text")
        choices = [str(c) for c in row.get("choices") or []]
        if len(choices) < 2:
            raise ItemError("fewer than two choices")
        label = row.get("label")
        letter = check_letter(LETTERS[label] if isinstance(label, int) and 0 <= label < 26 else label, choices)
        image = row.get("image")
        if image is None:
            raise ItemError("no image")
        images = [Image.fromarray(image) if not isinstance(image, Image.Image) else image]
        cat = _SUBJECTS.get(str(row.get("subject", "")).strip().lower())
        return choice_item(rid, question, choices, letter, images, category=[cat] if cat else [])

    rows = ((f"{path}[{i}]", str(r.get("id", i)) if isinstance(r, dict) else str(i), r) for i, r in enumerate(data))
    return build_items(rows, res, make)

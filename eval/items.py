"""What every benchmark loader returns: ``EvalItem``s plus a ``LoadResult`` that says how many
rows were read, kept, filtered out (another level / subset) and skipped as broken, and why.

Loaders normalise each native format to one shape so prompting and scoring need no
per-benchmark code: ``kind`` "math" items have a LaTeX / number gold answer; ``kind`` "choice"
items have ``choices`` (texts) and a gold *letter*.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redstar.choices import LETTERS


@dataclass
class EvalItem:
    id: str
    question: str
    answer: str  # gold: LaTeX / number, or a letter for kind "choice"
    kind: str = "math"  # "math" | "choice"
    choices: list[str] | None = None
    images: list[Any] = field(default_factory=list)  # file paths, or PIL images decoded from bytes
    category: list[str] = field(default_factory=list)  # breakdown labels (MATH type, skills, ...)
    meta: dict = field(default_factory=dict)
    # MathVista float answers: the prediction is rounded to this many decimals before grading,
    # as the official MathVista scorer does (gold 1.41, precision 2: 1.414 is right)
    precision: int | None = None

    def image_refs(self) -> list[str]:
        """Images as strings for results files: the path, or '<embedded WxH>' for decoded bytes."""
        return [
            str(im) if isinstance(im, (str, Path)) else f"<embedded {im.size[0]}x{im.size[1]}>" for im in self.images
        ]


@dataclass
class LoadResult:
    """``items`` kept; ``skipped`` lists 'where: why' for broken rows (``where`` is ``path:line``
    where the format has lines); ``filtered`` counts rows left out on purpose (another MATH
    level, another MathVista task); ``subset`` names the reading used, so reports say which one.
    With ``strict`` the first broken row raises ``RowError`` naming it instead of being skipped."""

    items: list[EvalItem] = field(default_factory=list)
    read: int = 0
    filtered: int = 0
    skipped: list[str] = field(default_factory=list)
    subset: str | None = None
    strict: bool = False

    def skip(self, where: str, why: str) -> None:
        if self.strict:
            from redstar.records import RowError

            raise RowError(f"{why} (--strict stops at the first malformed benchmark row)", where)
        self.skipped.append(f"{where}: {why}")

    def summary(self) -> str:
        text = f"read {self.read} rows, kept {len(self.items)}"
        if self.filtered:
            text += f", left out {self.filtered} (not in {self.subset or 'the benchmark'})"
        text += f", skipped {len(self.skipped)}"
        if self.skipped:
            text += f" (first: {self.skipped[0]})"
        return text


class ItemError(ValueError):
    """A row that cannot become an item; the loader records it as skipped with this reason."""


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` (or ``\\fbox{...}``) in ``text``, braces balanced,
    or None (none, or never closed): the gold answer of a MATH solution. The scan itself is the
    verifier's, so gold and responses are read by the same rule."""
    from redstar.verify.extract import last_boxed as _last_boxed

    got = _last_boxed(text)
    return got if isinstance(got, str) else None


def check_letter(letter: Any, choices: list[str]) -> str:
    """The gold letter, upper-cased, after checking it names one of the choices."""
    s = str(letter).strip().strip("().").upper() if letter is not None else ""
    if not s:
        raise ItemError("empty answer")
    if len(s) != 1 or s not in LETTERS[: len(choices)]:
        raise ItemError(f"answer {letter!r} is not one of the choice letters {LETTERS[: len(choices)]}")
    return s


def require_text(row: dict, *names: str) -> str:
    """The first present field among ``names`` as a stripped string; missing or empty is an error."""
    for name in names:
        if name in row and row[name] is not None:
            value = str(row[name]).strip()
            if not value:
                raise ItemError(f"empty '{name}'")
            return value
    raise ItemError(f"missing field {' / '.join(repr(n) for n in names)}")


def resolve_image(ref: str, roots: list[Path]) -> Path:
    """The image file ``ref`` names, looked up under each root in turn; missing is an error
    that lists where it looked."""
    p = Path(ref)
    if p.is_absolute():
        if p.is_file():
            return p
        raise ItemError(f"image {ref} not found")
    for root in roots:
        if (root / p).is_file():
            return root / p
    raise ItemError(f"image {ref} not found under {', '.join(str(r) for r in roots)}")


def decode_image(value: Any):
    """A PIL image from a Parquet / HF ``Image`` cell: ``{'bytes': ..., 'path': ...}``, raw
    bytes, or an already decoded PIL image."""
    import io

    from PIL import Image

    if isinstance(value, Image.Image):
        return value
    if isinstance(value, dict):
        value = value.get("bytes")
    if not isinstance(value, (bytes, bytearray)) or not value:
        raise ItemError("embedded image has no bytes")
    try:
        im = Image.open(io.BytesIO(value))
        im.load()
    except Exception as e:  # PIL raises several types for corrupt data
        raise ItemError(f"embedded image cannot be decoded ({type(e).__name__})") from None
    return im

"""Problem deduplication: exact after normalisation, then near-duplicates by MinHash LSH.

    dd = Deduper(DedupConfig(threshold=0.8))
    dd.check(problem)   # None (new, now indexed) or ("exact duplicate" | "near duplicate", kept_id)

The first occurrence in stream order wins, so every shard that reads the same sources in the
same order makes the same decisions. Near-duplicates use datasketch's MinHash over word
shingles of the normalised question (estimated Jaccard >= ``threshold``). Problems with images
are compared exactly on text plus the images' bytes: two geometry problems with the same words
("As shown in the figure, find angle 1") and different diagrams are different problems.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from data_recipes.text import normalize


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def _image_digest(paths: list[str]) -> str:
    h = hashlib.blake2b(digest_size=16)
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()


class Deduper:
    def __init__(self, cfg):
        self.cfg = cfg
        self.seen: dict[bytes, str] = {}
        self.lsh = None
        if cfg.near:
            from datasketch import MinHashLSH

            self.lsh = MinHashLSH(threshold=cfg.threshold, num_perm=cfg.num_perm)

    def _minhash(self, tokens: list[str]):
        from datasketch import MinHash

        k = self.cfg.shingle
        shingles = {" ".join(tokens[i : i + k]).encode("utf-8") for i in range(max(1, len(tokens) - k + 1))}
        m = MinHash(num_perm=self.cfg.num_perm, seed=1)
        m.update_batch(list(shingles))
        return m

    def check(self, problem: dict) -> tuple[str, str] | None:
        """Return (reason, id of the kept problem it duplicates), or None and index it."""
        norm = normalize(problem["question"])
        images = problem.get("images") or []
        key = norm + ("|img:" + _image_digest(images) if images else "") + "|" + problem.get("domain", "")
        d = _digest(key)
        if self.cfg.exact and d in self.seen:
            return "exact duplicate", self.seen[d]
        if self.lsh is not None and not images:
            m = self._minhash(norm.split())
            hits = self.lsh.query(m)
            if hits:
                return "near duplicate", sorted(hits)[0]
            self.lsh.insert(problem["id"], m, check_duplication=False)
        self.seen.setdefault(d, problem["id"])
        return None


def jaccard(a: str, b: str, k: int = 3) -> float:
    """Exact shingle Jaccard similarity (the quantity MinHash estimates), for checks and tests."""

    def sh(t):
        w = normalize(t).split()
        return {" ".join(w[i : i + k]) for i in range(max(1, len(w) - k + 1))}

    sa, sb = sh(a), sh(b)
    return len(sa & sb) / max(1, len(sa | sb))

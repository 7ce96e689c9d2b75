"""Problem deduplication: exact after normalisation, then near-duplicates by MinHash LSH.

    dd = Deduper(DedupConfig(threshold=0.8))
    dd.check(problem)   # None (new, now indexed) or ("exact duplicate" | "near duplicate", kept_id)

The first occurrence in stream order wins, so every shard that reads the same sources in the
same order makes the same decisions. Near-duplicates use datasketch's MinHash over word
shingles of the normalised question (estimated Jaccard >= ``threshold``), banded as
datasketch's LSH bands them; the index keeps packed keys in sorted numpy segments (``KeyIndex``,
``BandIndex``: 12 bytes a kept problem's exact key, 8 bytes each band entry), so a million
problems fit in about 85 MB. Problems with images
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


SEGMENT = 1 << 20  # entries per sorted band segment
KEY_SEGMENT = 1 << 18  # entries per sorted exact-key segment (its merge permutes keys and values)


class KeyIndex:
    """First value stored per 64-bit key, in 12 bytes an entry: sorted numpy segments of at most
    ``segment`` keys (uint64) and values (int32), plus a small dict of recent inserts merged
    into the open segment when it fills. Each segment is allocated at its full size once (pages
    are only resident once written) and filled in place, so a merge never copies the index:
    its transient memory is one permutation of the open segment."""

    def __init__(self, buffer: int = 1 << 16, segment: int = KEY_SEGMENT):
        self._segs: list[list] = []  # [keys buffer, values buffer, filled]
        self.recent: dict[int, int] = {}
        self.buffer, self.segment = buffer, segment

    @property
    def segments(self) -> list[tuple]:
        """(sorted keys, values) of each segment, as views of what is filled."""
        return [(k[:n], v[:n]) for k, v, n in self._segs]

    def __len__(self) -> int:
        return sum(n for _, _, n in self._segs) + len(self.recent)

    def get(self, key: int) -> int | None:
        return self.get_many([key])[0]

    def get_many(self, keys: list[int]) -> list[int | None]:
        """The value of each key (None when absent): one vectorised search per segment."""
        import numpy as np

        out: list[int | None] = [self.recent.get(k) for k in keys]
        q = np.array(keys, dtype=np.uint64)
        for seg_keys, seg_values, n in self._segs:
            seg_keys = seg_keys[:n]
            i = np.minimum(np.searchsorted(seg_keys, q), n - 1)
            for j in np.flatnonzero(seg_keys[i] == q).tolist():
                if out[j] is None:
                    out[j] = int(seg_values[i[j]])
        return out

    def put(self, key: int, value: int) -> None:
        """Store ``value`` unless ``key`` already has one (the first occurrence wins)."""
        if self.get(key) is None:
            self.put_new(key, value)

    def put_new(self, key: int, value: int) -> None:
        """Store a key the caller has just looked up and found absent."""
        self.recent[key] = value
        if len(self.recent) >= self.buffer:
            self._merge()

    def _merge(self) -> None:
        import numpy as np

        m = len(self.recent)
        keys = np.fromiter(self.recent.keys(), dtype=np.uint64, count=m)
        values = np.fromiter(self.recent.values(), dtype=np.int32, count=m)
        self.recent.clear()
        if not self._segs or self._segs[-1][2] + m > max(self.segment, m):
            size = max(self.segment, m)
            self._segs.append([np.empty(size, dtype=np.uint64), np.empty(size, dtype=np.int32), 0])
        seg = self._segs[-1]
        n = seg[2]
        seg_keys, seg_values = seg[0][: n + m], seg[1][: n + m]
        seg_keys[n:], seg_values[n:] = keys, values
        order = np.argsort(seg_keys, kind="stable")  # a sorted run and the new tail
        seg_keys[:] = seg_keys[order]
        seg_values[:] = seg_values[order]
        seg[2] = n + m


class BandIndex:
    """One LSH band's keys, 8 bytes an entry: a 40-bit band hash and the kept problem's 24-bit
    ordinal packed in one uint64, sorted by hash, in segments allocated once at full size and
    sorted in place as ``KeyIndex``'s. With one index per band, a lookup collides by chance
    with probability (entries in the band) / 2^40: about four falsely flagged near duplicates
    in a million problems."""

    HASH_BITS, ORD_BITS = 40, 24
    MAX_ORDINAL = (1 << 24) - 1

    def __init__(self, buffer: int = 1 << 16, segment: int = SEGMENT):
        self._segs: list[list] = []  # [buffer, filled]
        self.recent: dict[int, int] = {}
        self.buffer, self.segment = buffer, segment

    @property
    def segments(self) -> list:
        return [buf[:n] for buf, n in self._segs]

    def __len__(self) -> int:
        return sum(n for _, n in self._segs) + len(self.recent)

    def get_many(self, hashes: list[int]) -> list[int | None]:
        """The ordinal stored for each 40-bit hash, or None."""
        import numpy as np

        out: list[int | None] = [self.recent.get(h) for h in hashes]
        shift = np.uint64(self.ORD_BITS)
        q = np.array(hashes, dtype=np.uint64) << shift
        for buf, n in self._segs:
            seg = buf[:n]
            i = np.minimum(np.searchsorted(seg, q), n - 1)
            found = seg[i]
            for j in np.flatnonzero((found >> shift) == (q >> shift)).tolist():
                if out[j] is None:
                    out[j] = int(found[j]) & self.MAX_ORDINAL
        return out

    def put_new(self, h: int, ordinal: int) -> None:
        if ordinal > self.MAX_ORDINAL:
            raise OverflowError(
                f"the near-duplicate index holds at most {self.MAX_ORDINAL + 1:,} kept problems; "
                "split the sources into several curation runs (or set dedup.near: false)"
            )
        self.recent[h] = ordinal
        if len(self.recent) >= self.buffer:
            self._merge()

    def _merge(self) -> None:
        import numpy as np

        m = len(self.recent)
        packed = np.fromiter(((h << self.ORD_BITS) | o for h, o in self.recent.items()), dtype=np.uint64, count=m)
        self.recent.clear()
        if not self._segs or self._segs[-1][1] + m > max(self.segment, m):
            self._segs.append([np.empty(max(self.segment, m), dtype=np.uint64), 0])
        seg = self._segs[-1]
        n = seg[1]
        seg[0][n : n + m] = packed
        seg[0][: n + m].sort(kind="stable")  # timsort: merges the sorted run with the sorted-in tail
        seg[1] = n + m


class IdStore:
    """Kept problem ids by ordinal, in blocks of ``block`` ids: the ids' UTF-8 bytes in one
    bytes object and their end offsets in a uint32 array, about (id length + 4) bytes an id;
    adding a block never copies the earlier ones."""

    def __init__(self, block: int = 1 << 16):
        self.block = block
        self.blobs: list = [bytearray()]
        self.ends: list = []
        self.n = 0

    def add(self, pid: str) -> int:
        import numpy as np

        k, i = divmod(self.n, self.block)
        if i == 0:
            if k:
                self.blobs[-1] = bytes(self.blobs[-1])  # closed: exactly its size
                self.blobs.append(bytearray())
            self.ends.append(np.empty(self.block, dtype=np.uint32))
        blob = self.blobs[-1]
        blob += pid.encode("utf-8")
        if len(blob) > 0xFFFFFFFF:
            raise OverflowError("problem ids average over 64 kB: the id store's offsets are 32-bit")
        self.ends[-1][i] = len(blob)
        self.n += 1
        return self.n - 1

    def __getitem__(self, ordinal: int) -> str:
        k, i = divmod(ordinal, self.block)
        ends = self.ends[k]
        start = int(ends[i - 1]) if i else 0
        return self.blobs[k][start : int(ends[i])].decode("utf-8")


def _key64(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


class Deduper:
    """The index grows by one exact key (12 bytes, ``KeyIndex``) and one 8-byte entry in each
    LSH band's ``BandIndex`` per kept problem: prep's memory is bounded by this index, not by
    the rows read.

    Near-duplicates follow datasketch's MinHash LSH: the signature is cut into ``bands`` bands
    of ``rows`` values (datasketch's optimal split for the threshold), and a problem whose band
    matches an earlier kept problem's is a near duplicate of the first such problem, as a
    ``MinHashLSH.query`` hit is."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.ids = IdStore()
        self.exact = KeyIndex()
        self.bands: list[BandIndex] | None = None
        self._perms = None
        if cfg.near:
            from datasketch import MinHash
            from datasketch.lsh import _optimal_param

            self.n_bands, self.rows = _optimal_param(cfg.threshold, cfg.num_perm, 0.5, 0.5)
            self.bands = [BandIndex() for _ in range(self.n_bands)]
            first = MinHash(num_perm=cfg.num_perm, seed=1)
            self._perms, self._scheme = first.permutations, first.scheme  # built once, not per problem

    def _minhash(self, tokens: list[str]):
        from datasketch import MinHash

        k = self.cfg.shingle
        shingles = {" ".join(tokens[i : i + k]).encode("utf-8") for i in range(max(1, len(tokens) - k + 1))}
        m = MinHash(num_perm=self.cfg.num_perm, seed=1, permutations=self._perms, scheme=self._scheme)
        m.update_batch(list(shingles))
        return m

    def _band_keys(self, hashvalues) -> list[int]:
        """A 40-bit hash of each band's slice of the signature."""
        r = self.rows
        return [_key64(hashvalues[b * r : (b + 1) * r].tobytes()) >> 24 for b in range(self.n_bands)]

    def check(self, problem: dict) -> tuple[str, str] | None:
        """Return (reason, id of the kept problem it duplicates), or None and index it."""
        norm = normalize(problem["question"])
        images = problem.get("images") or []
        key = norm + ("|img:" + _image_digest(images) if images else "") + "|" + problem.get("domain", "")
        d = int.from_bytes(_digest(key)[:8], "little")
        if self.cfg.exact:
            hit = self.exact.get(d)
            if hit is not None:
                return "exact duplicate", self.ids[hit]
        bands = None
        if self.bands is not None and not images:
            bands = self._band_keys(self._minhash(norm.split()).hashvalues)
            hits = [o for index, h in zip(self.bands, bands) for o in index.get_many([h]) if o is not None]
            if hits:
                return "near duplicate", self.ids[min(hits)]
        ordinal = self.ids.add(problem["id"])
        if self.cfg.exact:
            self.exact.put_new(d, ordinal)
        for index, h in zip(self.bands or (), bands or ()):
            index.put_new(h, ordinal)
        return None


def jaccard(a: str, b: str, k: int = 3) -> float:
    """Exact shingle Jaccard similarity (the quantity MinHash estimates), for checks and tests."""

    def sh(t):
        w = normalize(t).split()
        return {" ".join(w[i : i + k]) for i in range(max(1, len(w) - k + 1))}

    sa, sb = sh(a), sh(b)
    return len(sa & sb) / max(1, len(sa | sb))

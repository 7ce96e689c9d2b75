"""The compact dedup index: the same decisions as a brute-force reference on a few thousand
near-duplicate problems, whatever its buffer and segment sizes, and merges that fill segments
in place instead of copying them."""

import random
import tracemalloc

import numpy as np

from data_recipes.dedup import BandIndex, Deduper, IdStore, KeyIndex, jaccard
from data_recipes.recipe import DedupConfig
from data_recipes.text import normalize


def _problems(n_base=1200, seed=3):
    """Distinct questions, one-word edits of some (Jaccard about 0.8-0.9 on 3-word shingles),
    copies that normalise the same, and half-rewritten ones (Jaccard well under 0.5)."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(3000)]
    out = []
    for i in range(n_base):
        toks = rng.choices(vocab, k=36)
        out.append({"id": f"p{i}", "question": " ".join(toks)})
        if i % 3 == 0:
            edit = list(toks)
            edit[rng.randrange(len(edit))] = "changed"
            out.append({"id": f"p{i}-edit", "question": " ".join(edit)})
        if i % 7 == 0:
            out.append({"id": f"p{i}-copy", "question": " ".join(toks).upper() + "!"})
        if i % 11 == 0:
            half = toks[:18] + rng.choices(vocab, k=18)
            out.append({"id": f"p{i}-half", "question": " ".join(half)})
    rng.shuffle(out)  # copies may come before their originals: the first in stream order wins
    return out


def _reference(problems, dd):
    """First-wins dedup computed another way: exact keys in a dict, and for near duplicates a
    brute-force comparison of every band of the MinHash signature (full values, not hashes)
    with every kept problem's, the earliest kept match named."""
    seen: dict[str, str] = {}
    kept_ids: list[str] = []
    kept_bands = np.empty((0, dd.n_bands, dd.rows), dtype=np.uint64)
    out = []
    for p in problems:
        norm = normalize(p["question"])
        if norm + "||" in seen:
            out.append(("exact duplicate", seen[norm + "||"]))
            continue
        sig = dd._minhash(norm.split()).hashvalues.astype(np.uint64)
        bands = sig[: dd.n_bands * dd.rows].reshape(dd.n_bands, dd.rows)
        match = np.flatnonzero((kept_bands == bands).all(axis=2).any(axis=1))
        if len(match):
            out.append(("near duplicate", kept_ids[match[0]]))
            continue
        seen[norm + "||"] = p["id"]
        kept_ids.append(p["id"])
        kept_bands = np.concatenate([kept_bands, bands[None]])
        out.append(None)
    return out


def test_dedup_matches_brute_force_reference_at_any_buffer_size():
    problems = _problems()
    assert len(problems) > 1800
    default = Deduper(DedupConfig())
    expected = _reference(problems, default)
    got_default = [default.check(p) for p in problems]
    small = Deduper(DedupConfig())  # tiny buffers and segments: dozens of merges and segments
    small.exact = KeyIndex(buffer=37, segment=200)
    small.bands = [BandIndex(buffer=37, segment=200) for _ in range(small.n_bands)]
    small.ids = IdStore(block=50)
    got_small = [small.check(p) for p in problems]
    assert len(small.exact.segments) > 5 and all(len(k) <= 200 for k, _ in small.exact.segments)
    assert got_default == expected
    assert got_small == expected
    by_id = {p["id"]: p["question"] for p in problems}
    reasons = [r[0] for r in expected if r]
    assert reasons.count("exact duplicate") >= 150 and reasons.count("near duplicate") >= 200
    for p, r in zip(problems, expected):
        if r and r[0] == "near duplicate":  # what LSH flags is similar by the exact measure too
            assert jaccard(p["question"], by_id[r[1]]) >= 0.5
        if p["id"].endswith("-half"):  # half rewritten (Jaccard about 0.3): not a duplicate of its source
            assert r is None or r[1] != p["id"].removesuffix("-half")


def test_band_merge_fills_its_segment_in_place():
    """A merge writes the new entries into the segment's spare room and sorts there: no copy of
    the segment (8 bytes an entry) is made, however full it is."""
    idx = BandIndex(buffer=1024, segment=1 << 17)
    rng = random.Random(0)
    hashes = list({rng.getrandbits(40) for _ in range(120_000)})
    for o, h in enumerate(hashes[:100_000]):
        idx.put_new(h, o)
    tracemalloc.start()
    for o, h in enumerate(hashes[100_000:110_000], start=100_000):
        idx.put_new(h, o)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 100_000 * 8 / 4, peak  # far less than one copy of the segment (800 kB)
    assert len(idx.segments) == 1
    assert idx.get_many(hashes[:110_000:997]) == list(range(0, 110_000, 997))
    assert idx.get_many(hashes[110_000:110_010]) == [None] * 10


def test_key_merge_keeps_values_with_their_keys_across_segments():
    idx = KeyIndex(buffer=100, segment=1000)
    rng = random.Random(5)
    keys = list({rng.getrandbits(64) for _ in range(5000)})
    for v, k in enumerate(keys):
        idx.put_new(k, v)
    assert len(idx) == len(keys) and len(idx.segments) == 5
    assert all(np.all(np.diff(k.astype(np.float64)) >= 0) for k, _ in idx.segments)
    assert idx.get_many(keys) == list(range(len(keys)))


def test_id_store_blocks():
    store = IdStore(block=7)
    ids = [f"src:{i}" * (i % 4) for i in range(100)] + ["ünï", ""]
    assert [store.add(p) for p in ids] == list(range(len(ids)))
    assert [store[i] for i in range(len(ids))] == ids
    assert len(store.blobs) == len(store.ends) == 15
    assert all(isinstance(b, bytes) for b in store.blobs[:-1])  # closed blocks hold exactly their bytes

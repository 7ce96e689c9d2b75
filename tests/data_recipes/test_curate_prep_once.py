"""Curation prep at scale: a compact dedup index that decides as datasketch's LSH does, prep
computed exactly once per run directory (array tasks wait on its lock; --prep-only as the job
the array depends on), and the Slurm scripts that chain prep -> array -> merge."""

import json
import random
import subprocess
import threading
import time

import pytest

from data_recipes.dedup import BandIndex, Deduper, IdStore, KeyIndex
from data_recipes.recipe import DedupConfig
from redstar.cli import main
from tests.data_recipes.curate_fixtures import make_world


def test_key_index_keeps_the_first_value_across_merges():
    idx = KeyIndex(buffer=4, segment=16)
    rng = random.Random(0)
    keys = [rng.getrandbits(64) for _ in range(50)]
    for v, k in enumerate(keys):
        idx.put(k, v)
        idx.put(k, 999)  # a later value for the same key never replaces the first
    assert len(idx) == 50 and len(idx.recent) < 4  # merged into the sorted arrays as it filled
    assert len(idx.segments) >= 3 and all(len(k) <= 16 for k, _ in idx.segments)  # no merge copies it all
    assert [idx.get(k) for k in keys] == list(range(50))
    assert idx.get_many([12345, keys[7], 2**64 - 1]) == [None, 7, None]


def test_band_index_packs_hash_and_ordinal():
    idx = BandIndex(buffer=4, segment=16)
    rng = random.Random(1)
    hashes = list({rng.getrandbits(40) for _ in range(60)})
    for ordinal, h in enumerate(hashes):
        idx.put_new(h, ordinal)
    assert len(idx) == len(hashes) and len(idx.segments) >= 3
    assert idx.get_many(hashes) == list(range(len(hashes)))
    absent = [h for h in (0, 1, 2**40 - 1, hashes[0] ^ 1) if h not in hashes]
    assert idx.get_many(absent) == [None] * len(absent)
    with pytest.raises(OverflowError, match="at most 16,777,216 kept problems"):
        idx.put_new(123, 1 << 24)


def test_id_store_round_trips():
    store = IdStore()
    ids = [f"numina:{i}" for i in range(3000)] + ["", "ünï"]
    assert [store.add(p) for p in ids] == list(range(len(ids)))
    assert [store[i] for i in range(len(ids))] == ids


def _questions(n, seed=0):
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(400)]
    base = [" ".join(rng.choice(words) for _ in range(30)) for _ in range(n)]
    out = []
    for i, q in enumerate(base):
        out.append((f"p{i}", q))
        if i % 5 == 0:  # a near copy: one word changed
            toks = q.split()
            toks[rng.randrange(len(toks))] = "changed"
            out.append((f"p{i}-near", " ".join(toks)))
        if i % 7 == 0:
            out.append((f"p{i}-exact", q.upper()))  # the same after normalisation
    return out


def test_dedup_decides_as_datasketch_lsh_does():
    """The compact index flags exactly what datasketch's MinHashLSH (the previous index) flags."""
    from datasketch import MinHashLSH

    from data_recipes.text import normalize

    cfg = DedupConfig()
    dd = Deduper(cfg)
    lsh = MinHashLSH(threshold=cfg.threshold, num_perm=cfg.num_perm)
    seen = {}
    ours, theirs = [], []
    for pid, q in _questions(300):
        ours.append(dd.check({"id": pid, "question": q}))
        norm = normalize(q)
        if norm + "|" in seen:
            theirs.append(("exact duplicate", seen[norm + "|"]))
            continue
        m = dd._minhash(norm.split())
        hits = lsh.query(m)
        if hits:
            theirs.append(("near duplicate", sorted(hits)[0]))
            continue
        lsh.insert(pid, m)
        seen[norm + "|"] = pid
        theirs.append(None)
    assert [o is None for o in ours] == [t is None for t in theirs]
    assert [o[0] for o in ours if o] == [t[0] for t in theirs if t]
    # every exact copy is found, and most one-word edits (Jaccard about 0.8 on 3-word shingles)
    assert sum(bool(o) and o[0] == "exact duplicate" for o in ours) == 43
    assert sum(bool(o) and o[0] == "near duplicate" for o in ours) >= 20
    assert ("exact duplicate", "p0") in ours
    near = [(pid, o[1]) for (pid, _), o in zip(_questions(300), ours) if o and o[0] == "near duplicate"]
    assert all(pid == kept + "-near" for pid, kept in near)  # each names the problem it copies


def test_prep_runs_once_while_the_other_tasks_wait(tmp_path, monkeypatch):
    import data_recipes.pipeline as pipeline
    from data_recipes.recipe import load_recipe

    recipe_path, _ = make_world(tmp_path)
    recipe = load_recipe(str(recipe_path), ["run.progress=false"])
    real, calls = pipeline.prep, []

    def slow_prep(recipe, out, progress=True):
        calls.append(threading.get_ident())
        time.sleep(0.3)  # the others arrive while it works
        return real(recipe, out, progress)

    monkeypatch.setattr(pipeline, "prep", slow_prep)
    out = tmp_path / "out"
    results = [None] * 4

    def task(i):
        results[i] = pipeline.prep_once(recipe, out, progress=False)

    threads = [threading.Thread(target=task, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1  # flock on separate descriptors excludes threads as it does processes
    assert all(r == results[0] for r in results) and results[0]["n_problems"] > 0
    assert not (out / pipeline.PREP_LOCK).exists()  # the lock file is not left in the run directory


def test_prep_only_then_shards_then_merge_equal_one_run(clean_run, capsys):
    recipe, single = clean_run
    out = recipe.parent / "staged"
    assert main(["curate", str(recipe), "--out", str(out), "--prep-only"]) == 0
    assert "problems after load, dedup and decontamination" in capsys.readouterr().out
    assert (out / "prep" / "funnel.json").is_file() and not (out / "chunks").exists()
    stamp = (out / "prep" / "problems.jsonl").stat().st_mtime_ns
    for i in range(2):
        assert main(["curate", str(recipe), "--out", str(out), "--shard", f"{i}/2"]) == 0
    assert (out / "prep" / "problems.jsonl").stat().st_mtime_ns == stamp  # prep was not redone
    assert main(["curate", str(recipe), "--out", str(out), "--merge"]) == 0
    for name in ("sft.jsonl", "preferences.jsonl", "rl_prompts.jsonl"):
        assert (out / name).read_bytes() == (single / name).read_bytes(), name
    assert main(["curate", str(recipe), "--out", str(out), "--prep-only", "--shard", "0/2"]) == 2
    assert "--prep-only runs alone" in capsys.readouterr().err


def test_slurm_scripts_chain_prep_array_and_merge(tmp_path, capsys):
    recipe, _ = make_world(tmp_path)
    jobs, out = tmp_path / "jobs", tmp_path / "out"
    argv = ["curate", str(recipe), "run.chunk_size=4", "--out", str(out), "--slurm", str(jobs), "--shards", "3"]
    assert main(argv + ["--sbatch=--partition=gpu"]) == 0
    assert "submit with: bash" in capsys.readouterr().out
    assert not out.exists()  # nothing written into the run directory before the prep job
    prep, array, merge, submit = (
        (jobs / n).read_text() for n in ("prep.sbatch", "array.sbatch", "merge.sbatch", "submit.sh")
    )
    assert "--prep-only" in prep and "#SBATCH --partition=gpu" in prep and "--gres" not in prep
    assert "#SBATCH --array=0-2" in array and '--shard "${SLURM_ARRAY_TASK_ID}/3"' in array
    assert "#SBATCH --gres=gpu:8" in array and "run.chunk_size=4" in array and str(out.resolve()) in array
    assert merge.rstrip().endswith("--merge")
    assert '--dependency=afterok:"$prep" array.sbatch' in submit
    assert '--dependency=afterok:"$array" merge.sbatch' in submit
    for name in ("prep.sbatch", "array.sbatch", "merge.sbatch", "submit.sh"):
        assert subprocess.run(["bash", "-n", str(jobs / name)]).returncode == 0
    # what the array task runs, with the task id bash would give it
    line = array.strip().splitlines()[-1]
    got = subprocess.run(
        ["bash", "-c", "echo " + line], env={"SLURM_ARRAY_TASK_ID": "2"}, capture_output=True, text=True
    )
    assert got.stdout.strip().endswith("--shard 2/3")


@pytest.mark.parametrize(
    "extra, message",
    [(["--shards", "0"], "--shards must be >= 1"), (["--sbatch", "partition=gpu"], "give one sbatch option")],
)
def test_bad_slurm_settings(tmp_path, capsys, extra, message):
    recipe, _ = make_world(tmp_path)
    assert main(["curate", str(recipe), "--out", str(tmp_path / "o"), "--slurm", str(tmp_path / "j"), *extra]) == 2
    assert message in capsys.readouterr().err


def test_prep_dropped_rows_name_what_they_duplicate(clean_run):
    _, out = clean_run
    dropped = [json.loads(line) for line in (out / "prep" / "dropped.jsonl").read_text().splitlines()]
    assert {(d["id"], d["duplicate_of"]) for d in dropped if d["stage"] == "dedup"} == {("m0-near", "m0")}


def test_hub_sources_stream_their_rows(tmp_path, monkeypatch):
    """streaming: true asks datasets for an iterable dataset and prep consumes it row by row."""
    import datasets

    from data_recipes.recipe import load_recipe
    from data_recipes.sources import iter_source

    pulled, calls = [], []

    def rows():
        for i in range(3):
            pulled.append(i)
            yield {"problem": f"What is {i} + {i}? Give the number.", "solution": f"\\boxed{{{2 * i}}}", "source": "x"}

    def fake_load(path, name=None, split=None, streaming=False, **kw):
        calls.append((path, split, streaming))
        return rows()

    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    (tmp_path / "r.yaml").write_text(
        "# schema: data_recipes.recipe:Recipe\nname: hub\n"
        "sources:\n  - {path: AI-MO/NuminaMath-CoT, preset: numina, name: numina, split: train, streaming: true}\n"
    )
    recipe = load_recipe(str(tmp_path / "r.yaml"))
    it = iter_source(recipe.sources[0], recipe)
    first, drop = next(it)
    assert calls == [("AI-MO/NuminaMath-CoT", "train", True)] and drop is None and first["answer"] == "0"
    assert pulled == [0]  # one row read so far: the source streams
    assert [p["answer"] for p, _ in it] == ["2", "4"]

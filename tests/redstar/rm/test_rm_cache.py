"""The reward model's data on the token cache: groups tokenised once, memory-mapped by every
rank and re-run, the same ids as encoding on the fly, every sample accounted for."""

import json
import os

import numpy as np
import pytest

from redstar.models import tiny_tokenizer
from redstar.rm import data as rmd
from redstar.rm.train import RMDataConfig, split_groups
from redstar.train import token_cache as tc
from tests.redstar.rm.rm_fixtures import synthetic_task


def _sample(pid, j, ok, response=None, **extra):
    return {
        "problem_id": pid,
        "model": "m",
        "response": response or f"response {j} to {pid}. The final answer is \\boxed{{{j}}}.",
        "verdict": {"correct": ok, "extracted": str(j), "reason": "match" if ok else "mismatch"},
        "filters": {},
        "scores": {},
        **extra,
    }


def _write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return str(path)


def _cfg(tmp_path, samples, problems=None, **kw):
    return RMDataConfig(
        samples=[samples],
        problems=problems,
        cache_dir=str(tmp_path / "cache"),
        num_proc=kw.pop("num_proc", 1),
        **{"n": 4, "eval_fraction": 0.25, "max_len": 64, **kw},
    )


def _task(tmp_path, n_problems=12):
    problems, samples = synthetic_task(n_problems)
    return _write(tmp_path / "s.jsonl", samples), _write(tmp_path / "p.jsonl", problems)


def test_cached_groups_hold_the_ids_the_encoder_gives_and_the_same_split(tmp_path):
    samples, problems = _task(tmp_path)
    tok = tiny_tokenizer()
    cfg = _cfg(tmp_path, samples, problems)
    groups = rmd.open_rm_cache(cfg, tok, seed=3, progress=False)

    # what the uncached path builds: the same groups, split, order and token ids
    rows = [json.loads(line) for line in open(samples)]
    expected = rmd.build_groups(rows, rmd.load_questions(problems), n=4, seed=3)
    train, held = split_groups(expected, 0.25)
    assert len(groups.train) == len(train) and len(groups.held_out) == len(held) and len(held) >= 1
    enc = rmd.PairEncoder(tok, max_len=64)
    for view, want in ((groups.train, train), (groups.held_out, held)):
        for i, g in enumerate(want):
            got = view[i]
            assert got.labels == g.labels
            assert [list(map(int, s)) for s in got.seqs] == [enc(g.question, r) for r in g.responses]
    # the collator pads a cached group exactly as it pads one it encodes itself
    coll = rmd.GroupCollator(rmd.PairEncoder(tok, max_len=64))
    a, b = coll([groups.train[0], groups.train[1]]), coll(train[:2])
    for k in ("input_ids", "attention_mask", "slots", "labels"):
        assert a[k].equal(b[k]), k
    assert a["num_targets"] == b["num_targets"]


def test_a_second_run_maps_the_cache_and_calls_no_tokenizer(tmp_path, monkeypatch):
    samples, problems = _task(tmp_path)
    tok = tiny_tokenizer()
    first = rmd.open_rm_cache(_cfg(tmp_path, samples, problems), tok, seed=0, progress=False)
    monkeypatch.setattr(tc, "build", lambda *a, **k: pytest.fail("the second run tokenised again"))
    monkeypatch.setattr(rmd.PairEncoder, "__call__", lambda *a, **k: pytest.fail("the tokenizer was called"))
    again = rmd.open_rm_cache(_cfg(tmp_path, samples, problems), tok, seed=0, progress=False)
    assert again.path == first.path
    assert isinstance(again.train[0].seqs[0], np.memmap) or isinstance(again.train[0].seqs[0].base, np.memmap)
    # a setting that changes the groups is a new key: built again (here: refused, build is patched)
    with pytest.raises(pytest.fail.Exception):
        rmd.open_rm_cache(_cfg(tmp_path, samples, problems), tok, seed=1, progress=False)
    with pytest.raises(pytest.fail.Exception):
        rmd.open_rm_cache(_cfg(tmp_path, samples, problems, n=2), tok, seed=0, progress=False)


def test_every_sample_is_accounted_for(tmp_path):
    long = "word " * 200 + "The final answer is \\boxed{1}."
    rows = [
        # p1: 3 correct, 3 wrong, one duplicate, one without a verdict; n=4 picks 2 + 2
        *[_sample("p1", j, j < 3) for j in range(6)],
        _sample("p1", 0, True),
        {**_sample("p1", 9, True), "verdict": {"correct": None}},
        '{"problem_id": "p1", "response": "cut off',  # malformed JSON
        # p2: every response correct; p3: every response wrong
        *[_sample("p2", j, True) for j in range(3)],
        *[_sample("p3", j, False) for j in range(2)],
        # p4: one correct pair over max_len (kept, cut), one wrong
        _sample("p4", 0, True, response=long),
        _sample("p4", 1, False),
    ]
    samples = _write(tmp_path / "s.jsonl", rows)
    problems = _write(
        tmp_path / "p.jsonl", [{"id": p, "question": f"q {p}?", "answer": "1"} for p in "p1 p2 p3 p4".split()]
    )
    groups = rmd.open_rm_cache(
        _cfg(tmp_path, samples, problems, skip_bad=True), tiny_tokenizer(), seed=0, progress=False
    )
    c = groups.accounting
    assert c["samples_read"] == len(rows) == 16
    assert (c["malformed"], c["no_verdict"], c["duplicates"]) == (1, 1, 1)
    assert (c["all_correct"], c["all_wrong"], c["not_picked"], c["used"], c["truncated"]) == (3, 2, 2, 6, 1)
    parts = ("malformed", "no_verdict", "duplicates", "all_correct", "all_wrong", "not_picked")
    assert sum(c[k] for k in parts) + c["dropped_by_encoder"] + c["used"] == c["samples_read"]
    assert c["groups"] == len(groups.train) + len(groups.held_out) == 2
    assert "s.jsonl:9" in c["first_bad"][0]
    lengths = sorted(len(s) for i in range(len(groups.train)) for s in groups.train[i].seqs)
    lengths += [len(s) for i in range(len(groups.held_out)) for s in groups.held_out[i].seqs]
    assert max(lengths) == 64  # the long pair was cut to max_len, not dropped


def _two_ranks(rank, samples, problems, cache_dir, out, port):
    import torch.distributed as dist

    from redstar.train.distributed import DistInfo

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    real = tc.build

    def build(*a, **k):
        open(os.path.join(out, f"built-by-{rank}"), "w").close()
        return real(*a, **k)

    tc.build = build
    cfg = RMDataConfig(
        samples=[samples], problems=problems, n=4, eval_fraction=0.25, max_len=64, cache_dir=cache_dir, num_proc=1
    )
    groups = rmd.open_rm_cache(cfg, tiny_tokenizer(), seed=0, dist=DistInfo(rank, 2, rank), progress=False)
    seqs = [[list(map(int, s)) for s in groups.train[i].seqs] for i in range(len(groups.train))]
    with open(os.path.join(out, f"rank{rank}.json"), "w") as f:
        json.dump({"path": str(groups.path), "train": seqs, "accounting": groups.accounting}, f)
    dist.destroy_process_group()


@pytest.mark.integration  # two spawned processes: about 20 s on 2 shared cores
def test_two_gloo_ranks_map_one_cache_built_once(tmp_path):
    import socket

    import torch.multiprocessing as mp

    samples, problems = _task(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_two_ranks, args=(samples, problems, str(tmp_path / "cache"), str(tmp_path), port), nprocs=2, join=True)
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert sorted(p.name for p in tmp_path.glob("built-by-*")) == ["built-by-0"]  # one build, by local rank 0
    assert r0 == r1 and r0["train"]
    assert len([p for p in (tmp_path / "cache").iterdir() if p.is_dir()]) == 1


def test_several_tokenising_processes_write_the_same_cache_as_one(tmp_path, monkeypatch):
    samples, problems = _task(tmp_path, n_problems=40)
    monkeypatch.setattr(tc, "CHUNK_ROWS", 3)  # many chunks in flight, put back in order
    tok = tiny_tokenizer()
    one = rmd.open_rm_cache(_cfg(tmp_path / "a", samples, problems), tok, seed=0, progress=False)
    two = rmd.open_rm_cache(_cfg(tmp_path / "b", samples, problems, num_proc=2), tok, seed=0, progress=False)
    assert two.cache.meta["num_proc"] == 2
    for name in ("input_ids.i32", "targets.u8", "offsets.i64", "rows.i64", "tags.i8"):
        assert (one.path / name).read_bytes() == (two.path / name).read_bytes(), name


def test_the_prep_job_builds_the_reward_models_cache_the_run_then_maps(tmp_path, monkeypatch):
    from redstar.config import load_config
    from redstar.rm.train import RMTrainConfig
    from redstar.train import prepare

    samples, problems = _task(tmp_path)
    cfg = tmp_path / "rm.yaml"
    cfg.write_text(
        "# schema: redstar.rm.train:RMTrainConfig\nmodel: tiny\n"
        f"data:\n  samples: [{samples}]\n  problems: {problems}\n  n: 4\n  max_len: 64\n"
        f"  cache_dir: {tmp_path / 'cache'}\n  num_proc: 1\n"
    )
    assert prepare.main([str(cfg), "train.seed=2"]) == 0
    monkeypatch.setattr(tc, "build", lambda *a, **k: pytest.fail("the training run tokenised again"))
    run_cfg = load_config(RMTrainConfig, str(cfg), ["train.seed=2"])
    groups = rmd.open_rm_cache(run_cfg.data, prepare.tokenizer_for("tiny"), seed=2, progress=False)
    assert groups.accounting["used"] == 12 * 4

"""Start-up race on a fresh run directory: two torch ranks and four curation shards open their
directories at the same moment, 20 times over, with a slow filesystem (each record's rename
waits), and every process succeeds. Without rank 0 deciding for the ranks, or without the
lock for the shards, the same start fails."""

import multiprocessing
import os
import socket
import time
from functools import partial

import pytest

from redstar import rundir

CONFIG = {"out": None, "lr": 1e-5, "train": {"device": "cpu"}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _slow_replace(real, src, dst):
    time.sleep(0.2)  # a slow (network) filesystem: the temp file is visible a while before run.json
    real(src, dst)


def _rank(rank, port, out, ranks_decide, start, results):
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1")
    os.environ["MASTER_PORT"] = str(port)
    from redstar.train.distributed import decided_by_rank0

    os.replace = partial(_slow_replace, os.replace)
    start.wait()
    time.sleep(0.1 * rank)  # ranks start a little apart, as on a cluster
    try:
        run = rundir.open_config_run(
            "sft",
            {**CONFIG, "out": str(out)},
            decide_on_rank0=(lambda d: decided_by_rank0(d, "cpu")) if ranks_decide else None,
        )
        results.put(("rank", rank, run.state, run.is_main))
    except Exception as e:  # noqa: BLE001 - reported to the test
        results.put(("rank", rank, "error", f"{type(e).__name__}: {e}"))


def _shard(i, out, locked, start, results):
    from pathlib import Path

    from data_recipes.pipeline import open_run
    from data_recipes.recipe import load_recipe

    recipe = load_recipe(str(Path(__file__).parents[2] / "data_recipes/recipes/demo.yaml"))
    os.replace = partial(_slow_replace, os.replace)
    start.wait()
    time.sleep(0.1 * i)  # array tasks start a little apart
    try:
        if locked:  # what 'redstar curate --shard i/4' does
            run = open_run(recipe, out, sharded=True)
        else:
            run = rundir.open_run_dir(out, "curate", {"source": "x.jsonl", "shards": 4})
        results.put(("shard", i, run.state, run.is_main))
    except Exception as e:  # noqa: BLE001
        results.put(("shard", i, "error", f"{type(e).__name__}: {e}"))


def _start_together(tmp, fixed: bool):
    ctx = multiprocessing.get_context("fork")
    start, results = ctx.Barrier(6), ctx.Queue()
    port = _free_port()
    procs = [ctx.Process(target=_rank, args=(r, port, tmp / "sft", fixed, start, results)) for r in range(2)]
    procs += [ctx.Process(target=_shard, args=(i, tmp / "curate", fixed, start, results)) for i in range(4)]
    for p in procs:
        p.start()
    out = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    return out


def test_two_ranks_and_four_shards_start_together_twenty_times(tmp_path):
    for it in range(20):
        out = _start_together(tmp_path / str(it), fixed=True)
        errors = [o for o in out if o[2] == "error"]
        assert errors == [], (it, errors)
        ranks = sorted(o for o in out if o[0] == "rank")
        # rank 0 decided "new" for both, only rank 0 writes
        assert ranks == [("rank", 0, "new", True), ("rank", 1, "new", False)]
        # the first records the run; the others find it (still without outputs, so new again) or resume it
        assert sorted(o[2] in ("new", "resume") for o in out if o[0] == "shard") == [True] * 4
        assert rundir.read_record(tmp_path / str(it) / "curate")["status"] == "running"


def test_the_same_start_fails_without_rank0_deciding_or_the_lock(tmp_path):
    failures = []
    for it in range(4):
        out = _start_together(tmp_path / str(it), fixed=False)
        failures += [o for o in out if o[2] == "error"]
    assert any(o[0] == "rank" and "holds no run record" in o[3] for o in failures), failures
    assert any(o[0] == "shard" for o in failures), failures


def test_an_error_on_rank0_is_raised_on_every_rank(tmp_path):
    (tmp_path / "sft").mkdir()
    (tmp_path / "sft" / "foreign.txt").write_text("not a run")
    out = _start_together(tmp_path, fixed=True)
    ranks = sorted(o for o in out if o[0] == "rank")
    assert [o[2] for o in ranks] == ["error", "error"]
    assert all("RunDirError" in o[3] and "holds no run record" in o[3] for o in ranks)


def test_the_lock_file_is_not_content_and_survives_overwrite(tmp_path):
    run = rundir.open_run_dir_locked(tmp_path / "d", "curate", {"a": 1})
    assert run.state == "new" and (tmp_path / "d" / rundir.LOCK_FILE).is_file()
    (tmp_path / "d" / "part.jsonl").write_text("{}\n")
    assert rundir.open_run_dir_locked(tmp_path / "d", "curate", {"a": 1}).state == "resume"
    with pytest.raises(rundir.RunDirError, match="a: 1 -> 2"):
        rundir.open_run_dir_locked(tmp_path / "d", "curate", {"a": 2})
    again = rundir.open_run_dir_locked(tmp_path / "d", "curate", {"a": 2}, overwrite=True)
    assert again.state == "new" and sorted(p.name for p in (tmp_path / "d").iterdir()) == [
        rundir.LOCK_FILE,
        rundir.RUN_FILE,
    ]
    rundir.add_to_record(tmp_path / "d", "token_caches", "sft", "/cache/sft-1")
    again.finish({"rows": 1})
    record = rundir.read_record(tmp_path / "d")
    assert record["status"] == "complete" and record["token_caches"] == {"sft": "/cache/sft-1"}

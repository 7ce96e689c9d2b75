"""The run-directory contract every command follows (redstar/rundir.py)."""

import json
import os

import pytest

from redstar.rundir import (
    RUN_FILE,
    RunDirError,
    clear_dir,
    diff_keys,
    flatten,
    open_run_dir,
    read_record,
    result_key,
)


def test_flatten_and_result_key():
    cfg = {
        "out": "runs/x",
        "train": {"lr": 1e-5, "progress": True, "betas": [0.9, 0.95]},
        "stages": [{"name": "a", "data": {"train": ["f.jsonl"]}}],
    }
    flat = flatten(cfg)
    assert flat["train.betas"] == [0.9, 0.95] and flat["stages.0.data.train"] == ["f.jsonl"]
    key = result_key(cfg, ignore=("out", "train.progress"))
    assert "out" not in key and "train.progress" not in key and key["train.lr"] == 1e-5
    assert diff_keys({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4}) == ["b: 2 -> 3", "c: (unset) -> 4"]


def test_new_resume_complete(tmp_path):
    out = tmp_path / "run"
    run = open_run_dir(out, "sft", {"lr": 1.0}, config={"lr": 1.0})
    assert run.state == "new" and read_record(out)["status"] == "running"
    (out / "partial.txt").write_text("half")
    again = open_run_dir(out, "sft", {"lr": 1.0})  # killed, re-run: continue
    assert again.resumed and (out / "partial.txt").exists()
    again.finish({"steps": 3})
    assert read_record(out)["status"] == "complete" and read_record(out)["summary"] == {"steps": 3}
    done = open_run_dir(out, "sft", {"lr": 1.0})
    assert done.complete and "already complete" in done.complete_message()


def test_changed_key_is_refused_naming_it_and_overwrite_clears(tmp_path):
    out = tmp_path / "run"
    open_run_dir(out, "sft", {"train.lr": 1e-5, "seed": 1}).finish()
    (out / "metrics.jsonl").write_text("{}\n")
    with pytest.raises(RunDirError) as e:
        open_run_dir(out, "sft", {"train.lr": 2e-5, "seed": 1})
    assert "train.lr: 1e-05 -> 2e-05" in str(e.value) and "--overwrite" in str(e.value)
    assert "seed" not in str(e.value)
    with pytest.raises(RunDirError, match="holds a `redstar sft` run, not `redstar dpo`"):
        open_run_dir(out, "dpo", {"train.lr": 1e-5, "seed": 1})
    run = open_run_dir(out, "sft", {"train.lr": 2e-5, "seed": 1}, overwrite=True)
    assert run.state == "new" and sorted(os.listdir(out)) == [RUN_FILE]


def test_changed_input_file_is_a_changed_key(tmp_path):
    data = tmp_path / "sft.jsonl"
    data.write_text('{"a": 1}\n')
    out = tmp_path / "run"
    open_run_dir(out, "sft", {}, inputs=[str(data)]).finish()
    assert open_run_dir(out, "sft", {}, inputs=[str(data)]).complete
    data.write_text('{"a": 1}\n{"a": 2}\n')
    with pytest.raises(RunDirError, match=f"input:{data}: 9 -> 18"):
        open_run_dir(out, "sft", {}, inputs=[str(data)])


def test_foreign_directory_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RunDirError, match="holds no run record"):
        open_run_dir(tmp_path, "curate", {})
    assert json.loads(json.dumps(sorted(os.listdir(tmp_path)))) == ["notes.txt"]


def test_clear_dir_refuses_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RunDirError, match="refusing"):
        clear_dir(tmp_path)


def test_a_re_exported_model_directory_is_a_changed_input(tmp_path):
    import time

    from redstar.rundir import local_model

    model = tmp_path / "sft" / "final"
    model.mkdir(parents=True)
    (model / "model.safetensors").write_bytes(b"0" * 8)
    assert local_model(str(model)) == [str(model)] and local_model("Qwen/Qwen2.5-7B-Instruct") == []
    out = tmp_path / "dpo"
    open_run_dir(out, "dpo", {}, inputs=local_model(str(model))).finish()
    assert open_run_dir(out, "dpo", {}, inputs=local_model(str(model))).complete
    time.sleep(1.1)
    (model / "model.safetensors").write_bytes(b"1" * 8)  # retrained: same size, new weights
    with pytest.raises(RunDirError, match=f"input:{model}"):
        open_run_dir(out, "dpo", {}, inputs=local_model(str(model)))


def test_a_record_of_a_run_that_did_no_work_gives_way(tmp_path):
    out = tmp_path / "run"
    open_run_dir(out, "sft", {"data": "bad.jsonl"})  # stopped on its data: only run.json
    (out / "tensorboard").mkdir()  # an empty folder is no work either
    run = open_run_dir(out, "sft", {"data": "good.jsonl"})
    assert run.state == "new" and read_record(out)["key"] == {"data": "good.jsonl"}
    open_run_dir(out, "dpo", {"data": "good.jsonl"})  # nor does the command matter
    (out / "metrics.jsonl").write_text("{}\n")  # work done: the contract holds again
    with pytest.raises(RunDirError, match='data: "good.jsonl" -> "other.jsonl"'):
        open_run_dir(out, "dpo", {"data": "other.jsonl"})


def test_token_cache_settings_are_not_part_of_the_result_key():
    from redstar.rundir import TRAIN_IGNORE, result_key

    cfg = {
        "data": {"max_len": 8, "cache_dir": "/a", "num_proc": 4},
        "stages": [{"name": "s", "data": {"max_len": 8, "cache_dir": "/b", "num_proc": 2}}],
    }
    assert result_key(cfg, TRAIN_IGNORE) == {"data.max_len": 8, "stages.0.name": "s", "stages.0.data.max_len": 8}

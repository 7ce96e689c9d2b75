"""The token cache: rows tokenised once into memory-mapped arrays, every row accounted for,
reused while the key holds, rebuilt when it changes, never used half-built."""

import json
import os

import numpy as np
import pytest

from redstar.models import tiny_tokenizer
from redstar.records import RowError, SFTRow
from redstar.train import token_cache as tc
from redstar.train.packing import best_fit_pack
from redstar.train.tokenize import tokenize_chat

UNSTABLE = "{% for m in messages %}{{ m['content'] }}|{% endfor %}{% if messages|length == 1 %}X{% endif %}"


def _row(i, answer_words=3):
    return {
        "messages": [
            {"role": "user", "content": f"What is {i} + {i}?"},
            {"role": "assistant", "content": " ".join(["step"] * answer_words) + f" \\boxed{{{2 * i}}}"},
        ]
    }


def _write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return str(path)


def _open(paths, tok, tmp_path, max_len=64, **kw):
    kw.setdefault("num_proc", 1)
    return tc.open_token_cache(
        "sft",
        paths,
        tok,
        tc.ChatEncoder("sft", max_len, "last", kw.pop("system_prompt", None)),
        schema=SFTRow,
        cache_dir=str(tmp_path / "cache"),
        progress=False,
        **kw,
    )


def test_every_row_is_accounted_for_and_examples_match_tokenize_chat(tmp_path):
    tok = tiny_tokenizer()
    rows = [_row(i) for i in range(6)] + [_row(9, answer_words=200)]  # the last is over max_len
    rows.insert(2, '{"messages": [{"role": "user"')  # malformed JSON
    path = _write(tmp_path / "a.jsonl", rows)
    cache = _open([path], tok, tmp_path, skip_bad=True, budgets=[128])
    s = cache.stats
    assert (s["rows_read"], s["used"], s["bad_rows"], s["too_long"], s["no_targets"]) == (8, 6, 1, 1, 0)
    assert s["rows_read"] == s["used"] + s["bad_rows"] + s["too_long"] + s["no_targets"]
    assert s["first_bad"][0].startswith(f"{path}:3: ")
    assert len(cache) == 6
    for i in range(6):
        ref = tokenize_chat(_row(i)["messages"], tok, 64)
        assert cache[i]["input_ids"].tolist() == ref["input_ids"]
        assert cache[i]["labels"].tolist() == ref["labels"]
    assert s["tokens"] == int(cache.lengths().sum())
    assert list(cache.pack_plan(128, seed=3)) == best_fit_pack(cache.lengths().tolist(), 128, seed=3)
    assert cache.plan_file(128).is_file() and isinstance(cache.ids, np.memmap)


def test_reused_while_the_key_holds_rebuilt_when_it_changes(tmp_path, monkeypatch):
    tok = tiny_tokenizer()
    path = _write(tmp_path / "a.jsonl", [_row(i) for i in range(4)])
    first = _open([path], tok, tmp_path)
    built = []
    real_build = tc.build
    monkeypatch.setattr(tc, "build", lambda *a, **k: (built.append(1), real_build(*a, **k)))
    again = _open([path], tok, tmp_path)
    assert again.path == first.path and built == []  # nothing tokenised the second time
    assert _open([path], tok, tmp_path, system_prompt="Think.").path != first.path and built == [1]
    assert _open([path], tok, tmp_path, max_len=32).path != first.path and built == [1, 1]
    _write(tmp_path / "a.jsonl", [_row(i) for i in range(5)])  # the file changed
    changed = _open([path], tok, tmp_path)
    assert changed.path != first.path and len(changed) == 5 and len(built) == 3
    tok.chat_template = tok.chat_template.replace("<|im_start|>", "<|im_start|> ")
    assert _open([path], tok, tmp_path).path != changed.path  # another template


def test_a_half_built_cache_is_never_used_and_a_deleted_one_is_rebuilt(tmp_path, monkeypatch):
    import shutil

    tok = tiny_tokenizer()
    path = _write(tmp_path / "a.jsonl", [_row(i) for i in range(4)])

    def killed(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(tc, "encode_chunk", killed)
    with pytest.raises(KeyboardInterrupt):
        _open([path], tok, tmp_path)
    monkeypatch.undo()
    assert [p.name for p in (tmp_path / "cache").iterdir() if not p.name.endswith(".lock")] == []
    cache = _open([path], tok, tmp_path)
    assert len(cache) == 4
    shutil.rmtree(cache.path)
    assert len(_open([path], tok, tmp_path)) == 4


def test_a_bad_row_is_named_by_file_and_line_from_the_worker_processes(tmp_path):
    tok = tiny_tokenizer()
    tok.chat_template = UNSTABLE
    path = _write(tmp_path / "a.jsonl", [_row(i) for i in range(3)])
    with pytest.raises(RowError, match=f"^{path}:1: chat template is not prefix-stable"):
        _open([path], tok, tmp_path, num_proc=2)
    cache = _open([path], tok, tmp_path, num_proc=2, skip_bad=True)
    assert cache.stats["bad_rows"] == 3 and cache.stats["used"] == 0 and len(cache) == 0


def test_several_processes_tokenise_the_same_as_one(tmp_path):
    tok = tiny_tokenizer()
    rows = [_row(i, answer_words=1 + i % 17) for i in range(tc.CHUNK_ROWS * 2 + 7)]
    path = _write(tmp_path / "a.jsonl", rows)
    one = _open([path], tok, tmp_path / "one", num_proc=1)
    two = _open([path], tok, tmp_path / "two", num_proc=2)
    assert one.path.name == two.path.name  # num_proc is not part of the key
    for name in ("input_ids.i32", "targets.u8", "offsets.i64"):
        assert (one.path / name).read_bytes() == (two.path / name).read_bytes()
    assert json.loads((two.path / "meta.json").read_text())["num_proc"] == 2


def test_cache_location(monkeypatch, tmp_path):
    monkeypatch.setenv("REDSTAR_CACHE", str(tmp_path / "c"))
    assert tc.cache_root() == tmp_path / "c" / "tokens"
    assert tc.cache_root(str(tmp_path / "x")) == tmp_path / "x"
    monkeypatch.delenv("REDSTAR_CACHE")
    assert tc.cache_root() == tc.Path.home() / ".cache" / "redstar" / "tokens"
    assert tc.available_cores() == len(os.sched_getaffinity(0))


def test_preference_pairs_match_tokenize_pairs_and_keep_their_reference_logps(tmp_path):
    from redstar.records import PreferenceRow
    from redstar.train.dpo import CachedPairs, collate_pairs, tokenize_pairs

    tok = tiny_tokenizer()
    rows = [
        {
            "prompt": [{"role": "user", "content": f"What is {i} + {i}?"}],
            "chosen": [{"role": "assistant", "content": f"\\boxed{{{2 * i}}}"}],
            "rejected": [{"role": "assistant", "content": "step " * (3 + 40 * (i == 2)) + "\\boxed{0}"}],
        }
        for i in range(4)
    ]
    path = _write(tmp_path / "p.jsonl", rows)
    cache = tc.open_token_cache(
        "dpo",
        [path],
        tok,
        tc.ChatEncoder("dpo", 48),
        schema=PreferenceRow,
        cache_dir=str(tmp_path / "cache"),
        num_proc=1,
        progress=False,
    )
    ref, stats = tokenize_pairs(rows, tok, 48, progress=False)
    assert cache.stats["used"] == stats["pairs"] == 3 and cache.stats["too_long"] == stats["too_long"] == 1
    pairs = CachedPairs(cache)
    for i, item in enumerate(ref):
        for side in ("chosen", "rejected"):
            assert pairs[i][side]["input_ids"].tolist() == item[side]["input_ids"]
            assert pairs[i][side]["labels"].tolist() == item[side]["labels"]
    assert "ref_logps" not in pairs[0]
    pairs.records[1]["ref_logps"] = [-1.5, -2.5]
    assert pairs[1]["ref_logps"] == [-1.5, -2.5] and "ref_logps" not in pairs[0]
    batch = collate_pairs([pairs[1]], pack_len=96)
    assert batch["ref_logps"].tolist() == [-1.5, -2.5] and batch["pack_len"] == 96 and batch["num_targets"] == 1


def test_the_prep_job_builds_what_the_training_run_then_only_maps(tmp_path, monkeypatch):
    from redstar.models import tiny_causal_lm
    from redstar.train import prepare, sft

    model, tok = tiny_causal_lm()
    model.save_pretrained(tmp_path / "model")
    tok.save_pretrained(tmp_path / "model")
    data = _write(tmp_path / "a.jsonl", [_row(i) for i in range(5)])
    cfg = tmp_path / "sft.yaml"
    cfg.write_text(
        "# schema: redstar.train.sft:SFTConfig\n"
        f"model: {tmp_path / 'model'}\nout: {tmp_path / 'out'}\n"
        f"data:\n  train: [{data}]\n  max_len: 64\n  cache_dir: {tmp_path / 'cache'}\n  num_proc: 1\n"
    )
    [(name, cache)] = prepare.prepare(str(cfg), ["data.system_prompt=Think."])
    assert name == "sft" and cache.stats["used"] == 5 and cache.plan_file(64).is_file()
    monkeypatch.setattr(tc, "build", lambda *a, **k: pytest.fail("the training run tokenised again"))
    from redstar.config import load_config

    run_cfg = load_config(sft.SFTConfig, str(cfg), ["data.system_prompt=Think."])
    again = sft.token_cache(run_cfg.data, prepare.tokenizer_for(run_cfg.model), None, 64, progress=False)
    assert again.path == cache.path
    bad = tmp_path / "dpo.yaml"
    bad.write_text("# schema: geo.sft:VLSFTConfig\n")
    assert prepare.main([str(bad)]) == 2


def test_a_second_sft_run_maps_the_cache_and_loads_the_tokenizer_once(tmp_path, monkeypatch):
    """Up to the first step, a warm run does no work a cold one already did: it tokenises
    nothing, and loads the tokenizer once (not again with the model)."""
    import redstar.models
    from redstar.cli import main
    from redstar.models import tiny_causal_lm

    model, tok = tiny_causal_lm()
    model.save_pretrained(tmp_path / "model")
    tok.save_pretrained(tmp_path / "model")
    data = _write(tmp_path / "a.jsonl", [_row(i) for i in range(8)])
    cfg = tmp_path / "sft.yaml"
    cfg.write_text(
        "# schema: redstar.train.sft:SFTConfig\n"
        f"model: {tmp_path / 'model'}\nattn_implementation: sdpa\n"
        f"data:\n  train: [{data}]\n  max_len: 64\n  cache_dir: {tmp_path / 'cache'}\n  num_proc: 1\n"
        "train:\n  max_steps: 1\n  device: cpu\n  dtype: float32\n  gradient_checkpointing: false\n"
        "  progress: false\n  tensorboard: false\n"
    )
    assert main(["sft", str(cfg), f"out={tmp_path / 'cold'}"]) == 0
    real, loads = redstar.models.load_tokenizer, []
    monkeypatch.setattr(redstar.models, "load_tokenizer", lambda *a, **k: loads.append(a) or real(*a, **k))
    monkeypatch.setattr(tc, "build", lambda *a, **k: pytest.fail("the warm run tokenised again"))
    assert main(["sft", str(cfg), f"out={tmp_path / 'warm'}"]) == 0
    assert len(loads) == 1
    record = json.loads((tmp_path / "warm" / "run.json").read_text())
    assert (
        record["token_caches"]["sft"] == json.loads((tmp_path / "cold" / "run.json").read_text())["token_caches"]["sft"]
    )


class _FakePool:
    """apply_async that runs the task when its result is asked for, in any order, and counts
    the tasks submitted but not yet collected."""

    def __init__(self):
        self.pending, self.most = 0, 0

    def apply_async(self, fn, args):
        pool = self
        pool.pending += 1
        pool.most = max(pool.most, pool.pending)

        class Result:
            def get(self):
                pool.pending -= 1
                return fn(*args)

        return Result()


def test_the_worker_window_keeps_order_bounds_what_is_in_flight_and_raises_at_the_bad_chunk():
    read = []

    def chunks(n):
        for k in range(n):
            read.append(k)
            yield [f"f:{k}"], [k]

    pool = _FakePool()
    out = []
    for result, wheres in tc._windowed(pool, chunks(10), 3, work=lambda rows: rows[0] * 10):
        out.append((result, wheres))
        assert len(read) - len(out) <= 3  # the reader is at most a window ahead of the consumer
    assert out == [(k * 10, [f"f:{k}"]) for k in range(10)] and pool.most == 3

    def work(rows):
        if rows[0] == 4:
            raise ValueError("chunk 4")
        return rows[0]

    got = []
    with pytest.raises(ValueError, match="chunk 4"):
        for result, _ in tc._windowed(_FakePool(), chunks(10), 3, work=work):
            got.append(result)
    assert got == [0, 1, 2, 3]

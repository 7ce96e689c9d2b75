"""Assistant-only labels from any chat template, and the CLI's handling of bad input."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from redstar.models import tiny_tokenizer
from redstar.train.tokenize import IGNORE_INDEX, TooLong, tokenize_chat, tokenize_rows

ROOT = Path(__file__).resolve().parents[3]
CHAT = [
    {"role": "user", "content": "What is 2+2?"},
    {"role": "assistant", "content": "It is \\boxed{4}."},
    {"role": "user", "content": "And 3+4?"},
    {"role": "assistant", "content": "The answer is \\boxed{7}."},
]


def _target_text(tok, ex):
    return tok.decode([i for i, y in zip(ex["input_ids"], ex["labels"]) if y != IGNORE_INDEX])


def test_labels_match_the_templates_generation_markers():
    tok = tiny_tokenizer()
    ex = tokenize_chat(CHAT, tok, train_on="all")
    ref = tok.apply_chat_template(CHAT, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    assert ex["input_ids"] == ref["input_ids"]
    assert [y != IGNORE_INDEX for y in ex["labels"]] == [bool(m) for m in ref["assistant_masks"]]


def test_last_turn_only_and_system_prompt():
    tok = tiny_tokenizer()
    ex = tokenize_chat(CHAT, tok, train_on="last", system_prompt="You should think step-by-step.")
    assert _target_text(tok, ex) == "The answer is \\boxed{7}.<|im_end|>"
    text = tok.decode(ex["input_ids"])
    assert text.startswith("<|im_start|>system\nYou should think step-by-step.<|im_end|>")
    # a row that has its own system turn keeps it
    own = [{"role": "system", "content": "Be brief."}] + CHAT[:2]
    assert "Be brief." in tok.decode(tokenize_chat(own, tok, system_prompt="X")["input_ids"])


def test_other_template_without_generation_markers():
    tok = tiny_tokenizer()
    tok.chat_template = (
        "{% for m in messages %}{{ '### ' + m['role'] + ':\\n' + m['content'] + '\\n' }}{% endfor %}"
        "{% if add_generation_prompt %}{{ '### assistant:\\n' }}{% endif %}"
    )
    ex = tokenize_chat(CHAT, tok, train_on="all")
    assert _target_text(tok, ex).replace(" ", "") == "Itis\\boxed{4}.Theansweris\\boxed{7}."


def test_too_long_dropped_or_truncated():
    tok = tiny_tokenizer()
    with pytest.raises(TooLong):
        tokenize_chat(CHAT, tok, max_len=10)
    assert len(tokenize_chat(CHAT, tok, max_len=10, overflow="truncate")["input_ids"]) == 10
    rows = [{"messages": CHAT}, {"messages": CHAT[:2]}]
    out, stats = tokenize_rows(rows, tok, max_len=40, progress=False)
    assert stats["too_long"] == 1 and len(out) == 1 and stats["targets"] > 0


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "redstar.cli", "sft", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"},
    )


def test_cli_reports_bad_rows_and_keys(tmp_path):
    data = tmp_path / "sft.jsonl"
    data.write_text(json.dumps({"messages": CHAT}) + "\n" + json.dumps({"messages": CHAT[:1]}) + "\n")
    cfg = tmp_path / "sft.yaml"
    cfg.write_text(
        f"# schema: redstar.train.sft:SFTConfig\nmodel: {tmp_path}\nout: {tmp_path / 'out'}\ndata:\n  train: [{data}]\n"
    )
    p = _cli(str(cfg), "train.lr=1e-5", "train.no_such_key=1")
    assert p.returncode == 2 and "unknown key 'train.no_such_key'" in p.stderr
    p = _cli(str(cfg), f"model={tmp_path / 'nothing'}")
    assert p.returncode == 2 and "sft.jsonl:2" in p.stderr and "assistant" in p.stderr
    p = _cli(str(cfg), "train.zero_stage=3", "--print-config")
    assert p.returncode == 0 and "zero_stage: 3" in p.stdout
    both = tmp_path / "both.yaml"
    both.write_text(cfg.read_text() + "stages:\n  - name: a\n    data:\n      train: [x.jsonl]\n")
    p = _cli(str(both))
    assert p.returncode == 2 and "either 'data'" in p.stderr


def test_the_template_is_rendered_once_per_row(monkeypatch):
    from redstar.train import tokenize as tz

    tok = tiny_tokenizer()
    calls = []
    real = tz._render
    monkeypatch.setattr(tz, "_render", lambda *a: (calls.append(1), real(*a))[1])
    rows = [[{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i} "}] for i in range(20)]
    tokenize_rows([{"messages": m} for m in rows], tok, 64, progress=False)
    assert len(calls) <= 20 + 3  # one per row, plus the conversation shape's skeleton once


def test_a_template_that_changes_the_content_is_rendered_turn_by_turn():
    tok = tiny_tokenizer()
    # this template trims the replies: the row is not the skeleton with its contents put back
    tok.chat_template = tok.chat_template.replace("{{- message['content'] -}}", "{{- message['content'] | trim -}}")
    assert "| trim" in tok.chat_template
    ex = tokenize_chat([{"role": "user", "content": "q "}, {"role": "assistant", "content": "  it is 4  "}], tok)
    assert _target_text(tok, ex) == "it is 4<|im_end|>"

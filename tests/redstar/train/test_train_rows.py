"""Reading and tokenising SFT / DPO rows: max_rows caps the total over all files, and a row
the chat template cannot split into turns stops the run naming its file and row (or is
skipped and counted with skip_bad)."""

import json

import pytest

from redstar.models import tiny_tokenizer
from redstar.records import RowError
from redstar.train.dpo import DPODataConfig, read_pairs, tokenize_pairs
from redstar.train.sft import DataConfig, read_sft_rows, tokenize_examples

# marks whichever message is rendered last, so rendering the first turns is not a prefix
# of the whole conversation
UNSTABLE = (
    "{% for m in messages %}{% if loop.last %}LAST {% endif %}{{ m['role'] }}: {{ m['content'] }}\n"
    "{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}"
)


def _pair(k):
    return {
        "prompt": [{"role": "user", "content": f"What is {k} + {k}?"}],
        "chosen": [{"role": "assistant", "content": f"\\boxed{{{2 * k}}}"}],
        "rejected": [{"role": "assistant", "content": f"\\boxed{{{2 * k + 1}}}"}],
    }


def _sft(k):
    return {
        "messages": [
            {"role": "user", "content": f"What is {k} + {k}?"},
            {"role": "assistant", "content": f"\\boxed{{{2 * k}}}"},
        ]
    }


def _files(tmp_path, make, n_files=3, per_file=3):
    paths = []
    for f in range(n_files):
        p = tmp_path / f"part{f}.jsonl"
        p.write_text("".join(json.dumps(make(f * per_file + i)) + "\n" for i in range(per_file)))
        paths.append(str(p))
    return paths


def test_dpo_max_rows_caps_the_total_over_files(tmp_path):
    paths = _files(tmp_path, _pair)
    rows, wheres, bad = read_pairs(DPODataConfig(train=paths, max_rows=4))
    assert len(rows) == 4 and bad == 0
    assert wheres == [f"{paths[0]}:1", f"{paths[0]}:2", f"{paths[0]}:3", f"{paths[1]}:1"]  # path:line
    assert len(read_pairs(DPODataConfig(train=paths))[0]) == 9


def test_template_error_names_file_and_row_or_is_counted(tmp_path):
    tok = tiny_tokenizer()
    good = tok.chat_template
    paths = _files(tmp_path, _pair, n_files=2, per_file=2)
    rows, wheres, _ = read_pairs(DPODataConfig(train=paths))
    items, stats = tokenize_pairs(rows, tok, 256, progress=False, wheres=wheres)
    assert stats["pairs"] == 4 and stats["bad_rows"] == 0
    tok.chat_template = UNSTABLE
    with pytest.raises(RowError, match=f"^{paths[0]}:1: chat template is not prefix-stable"):
        tokenize_pairs(rows, tok, 256, progress=False, wheres=wheres)
    items, stats = tokenize_pairs(rows, tok, 256, progress=False, wheres=wheres, skip_bad=True)
    assert items == [] and stats["bad_rows"] == 4

    sdir = tmp_path / "sft"
    sdir.mkdir()
    data = DataConfig(train=_files(sdir, _sft, n_files=2, per_file=2), max_len=256)
    rows, bad, wheres = read_sft_rows(data)
    with pytest.raises(RowError, match=f"^{data.train[0]}:1: chat template"):
        tokenize_examples(rows, bad, data, tok, False, wheres)
    data.skip_bad = True
    tok.chat_template = good
    examples, stats = tokenize_examples(rows, bad, data, tok, False, wheres)
    assert len(examples) == 4 and stats["bad_rows"] == 0
    tok.chat_template = UNSTABLE
    with pytest.raises(Exception, match="every row was dropped"):
        tokenize_examples(rows, bad, data, tok, False, wheres)

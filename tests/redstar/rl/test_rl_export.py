"""`redstar rl export` output loads through OpenRLHF 0.11.2's own dataset classes.

Each exported file is read the way OpenRLHF's trainers read it: ``blending_datasets`` (HF json
loader), then ``SFTDataset`` / ``RewardDataset(is_dpo=True)`` / ``PromptDataset`` configured by
args that OpenRLHF's own parser builds from the flags we tell users (DATA_FLAGS).
"""

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("openrlhf")

from redstar.cli import main  # noqa: E402
from redstar.rl.export import DATA_FLAGS  # noqa: E402
from redstar.rl.launch import render_flags  # noqa: E402
from redstar.rl.openrlhf_cli import build_parser  # noqa: E402


def _tokenizers():
    from redstar.models import cache_dir, load_tokenizer, tiny_tokenizer

    out = [("tiny", tiny_tokenizer)]
    if (cache_dir() / "models" / "SmolLM2-135M-Instruct").is_dir():
        out.append(("smollm2", lambda: load_tokenizer("default")))
    return out


TOKENIZERS = _tokenizers()


@pytest.fixture(params=[t[1] for t in TOKENIZERS], ids=[t[0] for t in TOKENIZERS])
def tok(request):
    t = request.param()
    if t.pad_token is None:
        t.pad_token = t.eos_token
    return t


def _strategy(entry, flags):
    from openrlhf.utils.config import hierarchize

    args = hierarchize(build_parser(entry).parse_args(render_flags(flags)))
    return SimpleNamespace(args=args, is_rank_0=lambda: True, print=lambda *a, **k: None)


def _load(path):
    from openrlhf.datasets.utils import blending_datasets

    return blending_datasets(str(path), None, _strategy("sft", {}), dataset_split="train")


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _png(path):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (200, 10, 10)).save(path)


def _user(text):
    return [{"role": "user", "content": text}]


def _asst(text):
    return [{"role": "assistant", "content": text}]


def test_sft_rows_load_in_sft_dataset_with_loss_on_the_answer_only(tmp_path, tok):
    from openrlhf.datasets import SFTDataset

    rows = [
        {
            "messages": [
                {"role": "system", "content": "Think step by step."},
                *_user("What is 2+3?"),
                *_asst("2+3 = 5, so \\boxed{5}."),
            ],
            "images": [],
        },
        {"messages": _user("Name a prime.") + _asst("7 is prime: \\boxed{7}")},
    ]
    src = _write(tmp_path / "sft.jsonl", rows)
    out = tmp_path / "openrlhf" / "sft.jsonl"
    assert main(["rl", "export", "--input", str(src), "--output", str(out)]) == 0

    strategy = _strategy("sft", DATA_FLAGS["sft"])
    ds = SFTDataset(_load(out), tok, 512, strategy, num_processors=1)
    assert len(ds) == 2
    for i, row in enumerate(rows):
        input_ids, attn, loss_mask = ds[i]  # [1, T] each
        assert attn.shape == input_ids.shape == loss_mask.shape
        # loss_mask[t] marks that token t+1 is a target (OpenRLHF shifts at loss time).
        targets = input_ids[0, 1:][loss_mask[0, :-1].bool()]
        text = tok.decode(targets, skip_special_tokens=True)
        assert text.strip() == row["messages"][-1]["content"]


def test_preference_rows_load_in_dpo_reward_dataset(tmp_path, tok):
    from openrlhf.datasets import RewardDataset

    rows = [
        {
            "prompt": _user("Solve x+1=3."),
            "chosen": _asst("x = 2, \\boxed{2}"),
            "rejected": _asst("x = 4, \\boxed{4}"),
            "images": [],
        }
    ] * 2
    src = _write(tmp_path / "pref.jsonl", rows)
    out = tmp_path / "dpo.jsonl"
    assert main(["rl", "export", "--kind", "preference", "--input", str(src), "--output", str(out)]) == 0

    ds = RewardDataset(_load(out), tok, 512, _strategy("dpo", DATA_FLAGS["preference"]), is_dpo=True, num_processors=1)
    chosen_ids, _, rejected_ids, _, prompt_len = ds[0]
    prompt = tok.apply_chat_template(_user("Solve x+1=3."), tokenize=False, add_generation_prompt=True)
    assert prompt_len == len(tok(prompt, add_special_tokens=False)["input_ids"])
    assert "\\boxed{2}" in tok.decode(chosen_ids[0, prompt_len:], skip_special_tokens=True)
    assert "\\boxed{4}" in tok.decode(rejected_ids[0, prompt_len:], skip_special_tokens=True)
    assert chosen_ids[0, -1].item() == tok.eos_token_id


def test_rl_rows_load_in_prompt_dataset_with_labels_and_images(tmp_path, tok):
    from openrlhf.datasets import PromptDataset

    _png(tmp_path / "img" / "tri.png")
    rows = [
        {
            "prompt": _user("What is 1/2+1/4? Put the answer in \\boxed{}."),
            "label": "\\frac{3}{4}",
            "datasource": "math_hard",
        },
        {
            "prompt": _user("Find angle ABC.\nChoices:\nA:40°\nB:60°"),
            "images": ["img/tri.png"],
            "label": {"answer": "B", "kind": "choice", "choices": ["40°", "60°"]},
            "datasource": "geoqa",
        },
        {
            "prompt": _user("Read n, print n*2."),
            "datasource": "taco",
            "label": {"kind": "code", "tests": {"inputs": ["3\n"], "outputs": ["6\n"]}},
        },
    ]
    src = _write(tmp_path / "rl.jsonl", rows)
    out = tmp_path / "out" / "rl.jsonl"
    assert main(["rl", "export", "--input", str(src), "--output", str(out)]) == 0

    data = _load(out)
    vision = "image" in (tok.chat_template or "")
    if not vision:  # a text-only chat template cannot render image parts: OpenRLHF needs a VLM there
        data = data.filter(lambda r: not r["images"])
    ds = PromptDataset(data, tok, _strategy("ppo_ray", DATA_FLAGS["rl"]))
    datasources, prompts, labels, images = ds.collate_fn([ds[i] for i in range(len(ds))])
    keep = [r for r in rows if vision or not r.get("images")]
    assert datasources == [r["datasource"] for r in keep]
    assert prompts[0] == tok.apply_chat_template(rows[0]["prompt"], tokenize=False, add_generation_prompt=True)
    labels = {json.loads(lab)["datasource"]: json.loads(lab) for lab in labels}
    assert labels["math_hard"]["answer"] == "\\frac{3}{4}" and labels["math_hard"]["kind"] == "math"
    assert labels["taco"]["tests"]["outputs"] == ["6\n"] and labels["taco"]["kind"] == "code"
    if vision:
        assert labels["geoqa"]["kind"] == "choice" and labels["geoqa"]["choices"] == ["40°", "60°"]
        # The VLM path: an absolute image path PIL opens from any directory, and one <image>
        # tag that the dataset turns into an image part of the chat template.
        assert images[0] == [] and len(images[1]) == 1 and Path(images[1][0]).is_absolute()
        from openrlhf.utils.vlm_utils import load_images

        assert load_images(images[1])[0].size == (8, 8)
        assert prompts[1].count("<|image_pad|>") == 1 and "<image>" not in prompts[1]


def test_embedded_images_load_without_the_source_tree(tmp_path):
    _png(tmp_path / "a.png")
    src = _write(tmp_path / "rl.jsonl", [{"prompt": _user("<image>Find x."), "label": "3", "images": ["a.png"]}])
    out = tmp_path / "rl_out.jsonl"
    assert main(["rl", "export", "--images", "embed", "--input", str(src), "--output", str(out)]) == 0
    row = json.loads(out.read_text())
    assert row["images"][0].startswith("data:image/png;base64,")
    assert row["prompt"][0]["content"].count("<image>") == 1  # an existing tag is not doubled
    from openrlhf.utils.vlm_utils import load_images

    assert load_images(row["images"])[0].size == (8, 8)


@pytest.mark.parametrize(
    "row,message",
    [
        ({"prompt": _user("q"), "label": "1", "images": ["missing.png"]}, "image not found: missing.png"),
        ({"prompt": _user("q"), "label": {"kind": "code"}}, "code label needs 'tests'"),
        ({"prompt": _user("q"), "label": ""}, "no gold 'answer'"),
        ({"prompt": _user("q"), "chosen": _user("a"), "rejected": _asst("b")}, "'chosen' must end with an assistant"),
        ({"question": "q", "answer": "1"}, "cannot tell the row type"),
    ],
)
def test_bad_rows_fail_naming_file_and_row(tmp_path, capsys, row, message):
    good = (
        {"prompt": _user("ok"), "label": "2"}
        if "label" in row
        else {"prompt": _user("ok"), "chosen": _asst("a"), "rejected": _asst("b")}
    )
    src = _write(tmp_path / "in.jsonl", [row] if "question" in row else [good, row])
    out = tmp_path / "out.jsonl"
    assert main(["rl", "export", "--input", str(src), "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and f"in.jsonl:{1 if 'question' in row else 2}" in err
    assert not out.exists()  # atomic: no half-written file


@pytest.fixture
def tiny_tok_dir(tmp_path):
    from redstar.models import tiny_tokenizer

    tiny_tokenizer().save_pretrained(tmp_path / "tok")
    (tmp_path / "tok" / "config.json").write_text('{"model_type": "qwen2"}')  # a model directory's marker
    return tmp_path / "tok"


def test_pairs_and_prompts_longer_than_max_len_are_dropped_and_counted(tmp_path, capsys, tiny_tok_dir):
    from redstar.models import load_tokenizer
    from redstar.rl.export import LengthLimit

    long_answer = "step " * 300 + "\\boxed{2}"
    rows = [
        {"prompt": _user("Solve x+1=3."), "chosen": _asst("x = 2, \\boxed{2}"), "rejected": _asst("\\boxed{4}")},
        {"prompt": _user("Solve x+2=4."), "chosen": _asst(long_answer), "rejected": _asst("\\boxed{3}")},
        {"prompt": _user("Solve x+3=5."), "chosen": _asst("\\boxed{2}"), "rejected": _asst(long_answer)},
    ]
    src = _write(tmp_path / "pref.jsonl", rows)
    out = tmp_path / "dpo.jsonl"
    limit = LengthLimit(200, load_tokenizer(str(tiny_tok_dir)))
    short = limit.conversation(rows[0]["prompt"] + rows[0]["chosen"])
    assert short < 200 < limit.conversation(rows[1]["prompt"] + rows[1]["chosen"])  # the data means what it says
    argv = [
        "rl",
        "export",
        "--input",
        str(src),
        "--output",
        str(out),
        "--max-len",
        "200",
        "--tokenizer",
        str(tiny_tok_dir),
    ]
    assert main(argv) == 0
    said = capsys.readouterr().out
    assert "wrote 1 preference rows" in said and "dropped 2 longer than max_len 200 tokens" in said
    assert f"{src}:2" in said  # the first dropped pair, located
    assert [json.loads(line)["chosen"][0]["content"] for line in out.read_text().splitlines()] == ["x = 2, \\boxed{2}"]
    # a limit every pair fits: nothing dropped, and it says so
    assert main(argv[:-3] + ["100000", "--tokenizer", str(tiny_tok_dir)]) == 0
    assert "wrote 3 preference rows" in capsys.readouterr().out
    # no limit: everything written, with a warning that OpenRLHF would cut silently
    assert main(argv[:-4]) == 0
    assert "lengths not checked" in capsys.readouterr().err


def test_rl_prompts_need_room_for_the_rollout(tmp_path, capsys, tiny_tok_dir):
    rows = [
        {"prompt": _user("1+1?"), "label": "2", "datasource": "a"},
        {"prompt": _user("word " * 100 + "?"), "label": "3", "datasource": "b"},
    ]
    src = _write(tmp_path / "rl_in.jsonl", rows)
    out = tmp_path / "rl.jsonl"
    base = ["rl", "export", "--input", str(src), "--output", str(out), "--tokenizer", str(tiny_tok_dir)]
    assert main(base + ["--max-len", "120", "--max-new-tokens", "64"]) == 0
    said = capsys.readouterr().out
    assert "wrote 1 rl rows" in said and "datasources: a=1;" in said and "with 64 left for the rollout" in said
    # nothing fits: an error naming the count, not an empty file handed to OpenRLHF
    assert main(base + ["--max-len", "10", "--max-new-tokens", "5"]) != 0
    assert "all 2 rows" in capsys.readouterr().err


def test_export_length_settings_are_checked(tmp_path, tiny_tok_dir):
    from redstar.config import ConfigError
    from redstar.records import RowError
    from redstar.rl.export import LengthLimit
    from redstar.rl.launch import load_length_limit

    with pytest.raises(ConfigError, match="--max-len needs the policy's tokenizer"):
        load_length_limit(max_len=100)
    with pytest.raises(ConfigError, match="--tokenizer needs --max-len"):
        load_length_limit(tokenizer=str(tiny_tok_dir))
    with pytest.raises(ConfigError, match="cannot load the policy's tokenizer"):
        load_length_limit(max_len=100, tokenizer=str(tmp_path / "nothing-here"))
    with pytest.raises(RowError, match="max_new_tokens in 0..max_len-1"):
        LengthLimit(100, None, max_new_tokens=100)
    assert load_length_limit() is None
    root = Path(__file__).resolve().parents[3]
    lim = load_length_limit(str(root / "launch/openrlhf/grpo.yaml"), tokenizer=str(tiny_tok_dir))
    assert (lim.max_len, lim.max_new_tokens) == (10240, 8192)


def test_dpo_launch_max_len_holds_curations_longest_samples():
    """Curation keeps samples up to the teacher's max_new_tokens; the DPO launch config must fit
    such a pair whole (plus a prompt), or OpenRLHF cuts the answers off."""
    from redstar.config import load_config
    from redstar.rl.launch import RLLaunchConfig

    root = Path(__file__).resolve().parents[3]
    from data_recipes.recipe import load_recipe

    longest = max(
        t.max_new_tokens for t in load_recipe(str(root / "data_recipes/recipes/redstar_math.yaml")).sampling.teachers
    )
    dpo = load_config(RLLaunchConfig, str(root / "launch/openrlhf/redstar_dpo.yaml"), [])
    assert dpo.max_len >= longest + 1024

"""Dataset cards of curation outputs: written by `redstar curate`, parsed by huggingface_hub's
DatasetCard, every export loadable by `datasets.load_dataset(folder, config)` through the card's
`configs:`, and `redstar push` sends the exports but not the work files."""

import json
from pathlib import Path

import pytest

from redstar.cli import main
from tests.data_recipes.curate_fixtures import make_world
from tests.redstar.release.release_fixtures import Recorder


@pytest.fixture(scope="module")
def curated(tmp_path_factory):
    base = tmp_path_factory.mktemp("curate")
    recipe, _ = make_world(base)
    assert main(["curate", str(recipe), "--out", str(base / "out")]) == 0
    return base / "out"


def _rows(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def test_curate_writes_a_dataset_card_that_huggingface_hub_reads(curated):
    from huggingface_hub import DatasetCard

    card = DatasetCard.load(curated / "README.md")
    meta = card.data.to_dict()
    configs = {c["config_name"]: c["data_files"][0]["path"] for c in meta["configs"]}
    assert configs == {
        "sft": "sft.jsonl",
        "preferences": "preferences.jsonl",
        "rl_prompts": "rl_prompts.jsonl",
        "samples": "samples.jsonl",
        "subset_hard": "subsets/hard.jsonl",
        "subset_hard_control": "subsets/hard_control.jsonl",
    }
    assert "redstar" in meta["tags"] and meta["size_categories"] == ["n<1K"]
    text = card.text
    funnel = json.loads((curated / "funnel.json").read_text())
    # sizes and columns of each export
    assert f"| `sft` | `sft.jsonl` | {len(_rows(curated / 'sft.jsonl'))} |" in text
    assert f"| `samples` | `samples.jsonl` | {funnel['counts']['samples']} |" in text
    assert "- `sft`: `messages` (list[dict]), `images` (list (empty in every row))" in text
    assert "`label` (dict)" in text and "`drop` (string (optional))" in text
    # the funnel with its drops and plot, the teacher, decontamination with the matched count
    for stage, st in funnel["funnel"].items():
        assert f"| {stage} | {st['unit']} | {st['in']} | {st['out']} |" in text
    assert "malformed row: 2" in text and "![funnel](funnel.png)" in text
    assert "| teacher | replay | stored responses `responses.jsonl` | 4 |" in text
    assert "| math_hard | `bench.jsonl` | 1 |" in text
    assert "name: test_math" in text  # the resolved recipe


@pytest.mark.parametrize(
    "config,file",
    [
        ("sft", "sft.jsonl"),
        ("preferences", "preferences.jsonl"),
        ("rl_prompts", "rl_prompts.jsonl"),
        ("samples", "samples.jsonl"),
        ("subset_hard", "subsets/hard.jsonl"),
    ],
)
def test_exports_load_with_datasets_through_the_card_configs(curated, config, file):
    import datasets

    ds = datasets.load_dataset(str(curated), config, split="train")
    rows = _rows(curated / file)
    assert ds.num_rows == len(rows) > 0
    key = "messages" if "messages" in rows[0] else ("prompt" if "prompt" in rows[0] else "id")
    assert ds[key] == [r[key] for r in rows]


def test_default_config_is_sft(curated):
    import datasets

    ds = datasets.load_dataset(str(curated), split="train")
    assert ds["messages"] == [r["messages"] for r in _rows(curated / "sft.jsonl")]


def test_dataset_dry_run_push_keeps_work_files_home(curated, capsys, monkeypatch):
    from huggingface_hub import HfApi

    monkeypatch.setattr(HfApi, "upload_folder", lambda *a, **k: pytest.fail("dry run uploaded"))
    before = (curated / "README.md").read_text()
    assert main(["push", str(curated), "--repo", "me/data", "--dry-run"]) == 0
    out = capsys.readouterr().out
    listed = [line.split()[0] for line in out.splitlines() if line and not line.startswith(("card:", "dry run"))][:-1]
    assert {
        "README.md",
        "sft.jsonl",
        "preferences.jsonl",
        "rl_prompts.jsonl",
        "samples.jsonl",
        "funnel.json",
        "funnel.png",
        "report.md",
        "recipe.yaml",
        "subsets/hard.jsonl",
    } <= set(listed)
    assert not [p for p in listed if p.startswith(("chunks/", "prep/", "work/", "manifests/")) or p == "run.json"]
    assert "-> dataset repo me/data" in out
    assert (curated / "README.md").read_text() == before  # rewriting is idempotent


def test_card_command_on_a_curation_output(curated, capsys):
    assert main(["card", str(curated), "--license", "cc-by-4.0"]) == 0
    from huggingface_hub import DatasetCard

    assert DatasetCard.load(curated / "README.md").data.license == "cc-by-4.0"
    assert main(["card", str(curated), "--eval", str(curated)]) == 2
    assert "--eval applies to models" in capsys.readouterr().err


def test_an_empty_export_is_listed_but_no_config(curated, tmp_path):
    import shutil

    import datasets
    from huggingface_hub import DatasetCard

    out = tmp_path / "out"
    shutil.copytree(curated, out)
    (out / "subsets" / "hard_control.jsonl").write_text("")
    assert main(["card", str(out)]) == 0
    card = DatasetCard.load(out / "README.md")
    names = [c["config_name"] for c in card.data.to_dict()["configs"]]
    assert "subset_hard_control" not in names and "subset_hard" in names
    assert "| (empty: no config) | `subsets/hard_control.jsonl` | 0 |" in card.text
    for name in names:
        assert datasets.load_dataset(str(out), name, split="train").num_rows > 0


def test_dataset_real_push_is_a_dataset_repo(curated, monkeypatch, capsys):
    from huggingface_hub.utils import filter_repo_objects

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    rec = Recorder(monkeypatch)
    assert main(["push", str(curated), "--repo", "me/data", "--private"]) == 0
    (create,) = rec.named("create_repo")
    assert create[2]["repo_type"] == "dataset" and create[2]["private"] is True
    (up,) = rec.named("upload_folder")
    assert up[2]["repo_type"] == "dataset" and up[2]["folder_path"] == str(curated)
    files = [p.relative_to(curated).as_posix() for p in curated.glob("**/*") if p.is_file()]
    sent = set(
        filter_repo_objects(files, allow_patterns=up[2]["allow_patterns"], ignore_patterns=up[2]["ignore_patterns"])
    )
    assert {"README.md", "sft.jsonl", "subsets/hard.jsonl"} <= sent
    assert not [f for f in sent if f.startswith(("chunks/", "prep/", "manifests/"))]

"""What users get wrong gets one line naming the problem, never a traceback (unless --debug):
missing paths that look like hub ids, uncached hub models offline, a config of another schema,
impossible values, a CUDA device without CUDA, W&B logging without wandb."""

import importlib.util
from pathlib import Path

import pytest

from redstar.cli import main
from redstar.dataio import read_rows

ROOT = Path(__file__).resolve().parents[2]
SFT, DPO = str(ROOT / "configs" / "sft_tiny_cpu.yaml"), str(ROOT / "configs" / "dpo_tiny_cpu.yaml")


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


def _err(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("redstar ")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("name", ["MATH/test", "geometry3k/test", "benchmarks/math_hard"])
def test_missing_path_that_looks_like_a_hub_id(name, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=f"^{name}: no such file or directory.*HF_HUB_OFFLINE=1"):
        list(read_rows(name))
    assert main(["sft", SFT, f"data.train=[{name}]", f"out={tmp_path / 'o'}"]) == 2
    assert f"{name}: no such file or directory" in _err(capsys)


def test_uncached_hub_model_offline(capsys):
    assert main(["ask", "--model", "nobody-here/uncached-model-xyz", "What is 1 + 1?"]) == 2
    line = _err(capsys)
    assert "'nobody-here/uncached-model-xyz'" in line and "HF_HUB_OFFLINE=1" in line


def test_config_of_another_schema_names_the_command(capsys):
    assert main(["sft", DPO]) == 2
    line = _err(capsys)
    assert "this is a DPO config" in line and f"run `redstar dpo {DPO}`" in line
    assert main(["curate", SFT, "--out", "never"]) == 2
    assert "this is an SFT config, not a curation recipe: run `redstar sft" in _err(capsys)


@pytest.mark.parametrize(
    "args,needle",
    [
        (["ask", "--max-new-tokens", "0", "hi"], "--max-new-tokens 0: must be at least 1"),
        (["ask", "--temperature", "-1", "hi"], "--temperature -1.0: must be >= 0"),
    ],
)
def test_impossible_values(args, needle, capsys):
    assert main(args) == 2
    assert needle in _err(capsys)


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch")
def test_cuda_device_without_cuda_and_wandb_without_wandb(tmp_path, capsys):
    import torch

    if not torch.cuda.is_available():
        assert main(["dpo", DPO, "train.device=cuda", f"out={tmp_path / 'a'}"]) == 2
        assert "train.device=cuda, but no CUDA device" in _err(capsys)
    if importlib.util.find_spec("wandb") is None:
        assert main(["sft", SFT, "train.wandb_project=demo", f"out={tmp_path / 'b'}"]) == 2
        assert "wandb is not installed" in _err(capsys)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # refused before any work


def test_unexpected_error_is_one_line_and_debug_shows_the_traceback(monkeypatch, capsys):
    import redstar.ask

    def boom(args):
        raise RuntimeError("something broke\nsecond line")

    monkeypatch.setattr(redstar.ask, "run", boom)
    assert main(["ask", "hi"]) == 1
    line = _err(capsys)
    assert "RuntimeError: something broke second line" in line and "--debug" in line
    with pytest.raises(RuntimeError, match="something broke"):
        main(["--debug", "ask", "hi"])


def test_rm_train_row_error_is_path_line_with_id(tmp_path, capsys):
    samples = tmp_path / "s.jsonl"
    samples.write_text(
        '{"problem_id": "p1", "response": "a", "verdict": {"correct": true}, "question": "q1"}\n\n'
        '{"problem_id": "p2", "response": "b", "verdict": {"correct": false}}\n'
    )
    argv = [
        "rm",
        "train",
        str(ROOT / "configs" / "rm_tiny.yaml"),
        f"data.samples=[{samples}]",
        "data.problems=null",
        f"out={tmp_path / 'rm'}",
    ]
    assert main(argv) == 2
    assert f"{samples}:3 (id p2): problem 'p2': no question" in _err(capsys)

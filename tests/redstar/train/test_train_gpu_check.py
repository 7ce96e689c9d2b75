"""bench/gpu_check.py on a machine without a GPU: it imports, parses its arguments, prints its
plan with --dry-run, refuses to run without CUDA, and renders its report from results."""

import importlib.util
import json
import statistics
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def gc():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "bench" / "gpu_check.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_arguments_and_plan(gc, capsys):
    args = gc.parse_args([])
    assert args.sections.split(",") == ["sft", "dpo", "vl", "equal"] and args.pack_len >= args.max_len
    with pytest.raises(SystemExit):
        gc.parse_args(["--sections", "sft,nope"])
    with pytest.raises(SystemExit):
        gc.parse_args(["--max-len", "9000", "--pack-len", "8192"])
    assert gc.main(["--dry-run", "--sections", "sft,equal"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["sections"] == ["sft", "equal"] and shown["sft"]["shape"] == "qwen2.5-0.5b"
    assert 128 <= shown["sft"]["length_p50"] < shown["sft"]["length_p90"] <= shown["sft"]["length_max"] <= 8192


def test_lengths_are_long_tailed_within_bounds(gc):
    lens = gc.sample_lengths(2000, 128, 8192, 1024, 0)
    assert min(lens) == 128 and max(lens) == 8192
    assert 800 < statistics.median(lens) < 1300 and statistics.mean(lens) > statistics.median(lens)


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the refusal without a GPU")
def test_refuses_to_run_without_a_gpu(gc, capsys):
    assert gc.main(["--sections", "dpo"]) == 2
    assert "needs a CUDA GPU" in capsys.readouterr().err


def test_report_renders_every_section(gc):
    args = gc.parse_args([])
    results = {
        "sft-ours": {"attention": "flash_attention_2", "tokens_per_s": 30000.0, "mfu": 0.3, "peak_gib": 20.0},
        "sft-trl": {"attention": "flash_attention_2", "tokens_per_s": 15000.0, "mfu": 0.15, "peak_gib": 25.0},
        "sft-zero3": {"error": "timed out after 240 s"},
        "dpo": {"dpo_peak_gib": 10.0, "sft_peak_gib": 9.0, "ratio": 1.11, "tokens": 9000},
        "vl": {"error": "timed out after 240 s"},
        "equal": {"flex_attention": {"loss_rel_diff": 1e-4, "grad_rel_diff": 2e-3, "equal": True}},
    }
    info = {"gpu": "NVIDIA H200", "peak_tflops": 989.0, "torch": "2", "transformers": "5", "python": "3.11"}
    text = gc.report(results, info, args)
    assert "redstar / TRL: 2.00x tokens/s, 0.80x peak memory" in text
    assert "| redstar (DeepSpeed ZeRO-3, 1 GPU) | - | timed out after 240 s |" in text
    assert "| TRL (bfd packing, padding-free, liger) | flash_attention_2 | 15000 | 15.0% |" in text
    assert "989.0 TFLOPS for NVIDIA H200" in text
    assert "ratio 1.11x" in text and "timed out after 240 s" in text and "| flex_attention |" in text


@pytest.mark.gpu
def test_packed_equals_unpacked_on_the_gpu(gc, tmp_path):
    out = tmp_path / "gpu_check.md"
    assert gc.main(["--sections", "equal", "--out", str(out)]) == 0
    text = out.read_text()
    assert "| flex_attention |" in text and "False" not in text


def test_smoke_run_on_the_cpu_writes_the_report(gc, tmp_path):
    """--smoke runs a section's child process end to end with toy shapes on the CPU."""
    out = tmp_path / "gpu_check.md"
    assert gc.main(["--smoke", "--sections", "equal", "--out", str(out)]) == 0
    text = out.read_text()
    assert "CPU smoke run" in text and "| sdpa |" in text and "True" in text
    assert json.loads(out.with_suffix(".json").read_text())["results"]["equal"]["sdpa"]["equal"] is True


@pytest.mark.parametrize(
    "name, peak",
    [
        ("NVIDIA H100 80GB HBM3", 989.0),  # the SXM5 part
        ("NVIDIA H100 PCIe", 756.0),
        ("NVIDIA H100 NVL", 835.0),
        ("NVIDIA H200", 989.0),
        ("NVIDIA H200 NVL", 835.0),
        ("NVIDIA A100-SXM4-80GB", 312.0),
        ("NVIDIA L40S", 362.0),
        ("Tesla T4", 0.0),  # unknown: no MFU rather than a wrong one
    ],
)
def test_peak_from_the_card_name(gc, name, peak):
    assert gc.peak_tflops(name) == peak


def test_gpu_name_comes_from_nvidia_smi(gc, tmp_path, monkeypatch):
    smi = tmp_path / "nvidia-smi"
    smi.write_text(
        '#!/bin/sh\necho "$@" > ' + str(tmp_path / "args") + '\necho "NVIDIA H100 PCIe"\necho "NVIDIA H100 PCIe"\n'
    )
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,4")
    assert gc.gpu_name() == "NVIDIA H100 PCIe"
    assert (tmp_path / "args").read_text().split() == ["--query-gpu=name", "--format=csv,noheader", "-i", "3"]


def test_one_mfu_definition_counts_attention(gc):
    shape = {"num_hidden_layers": 24, "hidden_size": 896}
    lengths = [1000, 3000]
    span = gc.attention_span(lengths)
    assert span == (1000**2 + 3000**2) / 4000
    n = 494_000_000
    flops = gc.train_flops(n, 4000, span, shape)
    # the attention term: sum over samples of 6 x layers x hidden x n^2
    assert flops - 6 * n * 4000 == pytest.approx(6 * 24 * 896 * (1000**2 + 3000**2))
    # both trainers go through the same function: equal tokens and time give equal MFU
    assert gc.mfu(flops, 2.0, 989.0) == pytest.approx(flops / 2.0 / 989e12)
    assert gc.mfu(flops, 2.0, 0.0) is None

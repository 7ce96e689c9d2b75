"""launch/ scripts: --dry-run prints the exact command each wraps; bad input fails clearly."""

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CFG = "configs/sft_tiny_cpu.yaml"


def _run(*args, env=None):
    import os

    return subprocess.run(
        ["bash", *args], cwd=ROOT, capture_output=True, text=True, timeout=30, env={**os.environ, **(env or {})}
    )


def test_torchrun_dry_run_passes_overrides_and_node_settings():
    p = _run(
        "launch/sft_torchrun.sh",
        "--dry-run",
        CFG,
        "train.lr=1e-5",
        env={"NPROC": "8", "NNODES": "2", "NODE_RANK": "1", "MASTER_ADDR": "node0"},
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == [
        "torchrun",
        "--nnodes=2",
        "--node_rank=1",
        "--nproc_per_node=8",
        "--master_addr=node0",
        "--master_port=29500",
        "-m",
        "redstar.cli",
        "sft",
        CFG,
        "train.lr=1e-5",
    ]


@pytest.mark.parametrize(
    "zero,stage,offload,json",
    [
        ("2", "2", "false", "zero2.json"),
        ("3", "3", "false", "zero3.json"),
        ("3-offload", "3", "true", "zero3_offload.json"),
    ],
)
def test_deepspeed_dry_run_names_the_zero_json(zero, stage, offload, json):
    p = _run("launch/sft_deepspeed.sh", "--dry-run", "--zero", zero, CFG)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert out.startswith("deepspeed --no_local_rank --module redstar.cli sft " + CFG)
    assert f"train.zero_stage={stage}" in out and f"train.offload={offload}" in out and out.strip().endswith(json)
    assert (ROOT / "launch" / "deepspeed" / json).is_file()


def test_slurm_and_debug_twins_dry_run():
    p = _run("launch/slurm_sft.sbatch", "--dry-run", CFG, env={"SLURM_NNODES": "4", "SLURM_GPUS_ON_NODE": "8"})
    assert p.returncode == 0 and "--nnodes=4 --nproc_per_node=8" in p.stdout and "--rdzv_backend=c10d" in p.stdout
    p = _run("launch/sft_debug.sh", "--dry-run", "--zero", "3", CFG)
    assert p.returncode == 0 and "--nproc_per_node=2" in p.stdout and "train.device=cpu" in p.stdout
    assert "train.strategy=deepspeed train.zero_stage=3" in p.stdout
    p = _run("launch/slurm_sft_debug.sbatch", "--dry-run", CFG)
    assert p.returncode == 0 and "--nproc_per_node=1" in p.stdout and "train.device=cuda" in p.stdout


def test_missing_config_and_bad_zero_fail():
    p = _run("launch/sft_torchrun.sh", "--dry-run", "missing.yaml")
    assert p.returncode == 2 and "config not found: missing.yaml" in p.stderr
    p = _run("launch/sft_deepspeed.sh", "--dry-run", "--zero", "1", CFG)
    assert p.returncode == 2 and "--zero must be" in p.stderr


def test_torchrun_counts_the_gpus_cuda_visible_devices_allows():
    """nvidia-smi lists every GPU of the machine; the ranks may only use the visible ones."""
    for visible, n in (("0,3", "2"), ("5", "1"), ("", "1"), ("-1", "1")):
        p = _run("launch/sft_torchrun.sh", "--dry-run", CFG, env={"CUDA_VISIBLE_DEVICES": visible, "NPROC": ""})
        assert p.returncode == 0, p.stderr
        assert f"--nproc_per_node={n}" in p.stdout.split(), (visible, p.stdout)


def test_slurm_srun_gets_the_cpus_of_the_task():
    """Slurm 22.05+ does not pass the job's --cpus-per-task on to srun: the script does."""
    p = _run(
        "launch/slurm_sft.sbatch",
        "--dry-run",
        CFG,
        env={"SLURM_NNODES": "2", "SLURM_GPUS_ON_NODE": "8", "SLURM_CPUS_PER_TASK": "48"},
    )
    assert p.returncode == 0, p.stderr
    words = p.stdout.split()
    assert words[:3] == ["srun", "--ntasks-per-node=1", "--cpus-per-task=48"] and words[3] == "torchrun"

"""`redstar rl launch`: every flag it emits exists in the pinned OpenRLHF, bad configs fail early."""

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("openrlhf")

from redstar.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
CONFIGS = {
    "dpo": "redstar_dpo.yaml",
    "ppo": "redstar_ppo.yaml",
    "reinforce++": "redstar_reinforce_pp.yaml",
    "grpo": "grpo.yaml",
}


def _source_flags(module: str) -> set[str]:
    """Flag names read straight from the installed source text (not through our parser exec)."""
    import importlib.util

    text = Path(importlib.util.find_spec(module).origin).read_text()
    flags = set(re.findall(r'add_argument\(\s*"(--[\w.]+)"', text))
    for tail in re.findall(r'add_argument\(\s*f"--\{prefix\}(\.[\w.]+)"', text):
        flags |= {f"--actor{tail}", f"--critic{tail}"}
    return flags


def _dry_run(capsys, algo, config, *extra):
    assert main(["rl", "launch", "--algo", algo, str(config), *extra, "--dry-run"]) == 0
    out = capsys.readouterr().out.strip().splitlines()[-1]
    return shlex.split(out)


def _rl_data(tmp_path, rows=None):
    rows = rows or [
        {
            "prompt": [{"role": "user", "content": "<image>Find x."}],
            "label": json.dumps({"answer": "3"}),
            "images": ["/abs/a.png"],
            "datasource": "geoqa",
        },
        {
            "prompt": [{"role": "user", "content": "1+1?"}],
            "label": json.dumps({"answer": "2"}),
            "images": [],
            "datasource": "math_hard",
        },
    ]
    path = tmp_path / "rl.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize("algo", ["dpo", "ppo", "reinforce++", "grpo", "rloo"])
def test_every_dry_run_flag_exists_in_openrlhf(capsys, algo):
    config = ROOT / "launch" / "openrlhf" / CONFIGS.get(algo, "grpo.yaml")
    extra = ["algo=rloo"] if algo == "rloo" else []
    argv = _dry_run(capsys, algo, config, *extra)
    module = argv[argv.index("-m") + 1] if "-m" in argv else argv[argv.index("--module") + 1]
    assert module == ("openrlhf.cli.train_dpo" if algo == "dpo" else "openrlhf.cli.train_ppo_ray")
    assert argv[0] == ("deepspeed" if algo == "dpo" else "ray")
    flags = [a for a in argv[argv.index(module) + 1 :] if a.startswith("--")]
    known = _source_flags(module)
    assert flags and not [f for f in flags if f not in known]
    if algo != "dpo":
        estimator = argv[argv.index("--algo.advantage.estimator") + 1]
        assert estimator == {"ppo": "gae", "reinforce++": "reinforce", "grpo": "group_norm", "rloo": "rloo"}[algo]
        assert argv[argv.index("--reward.remote_url") + 1].endswith("redstar/rl/reward.py")
        assert ("--critic.model_name_or_path" in flags) == (algo == "ppo")


def test_data_scan_sets_images_and_datasources(tmp_path, capsys):
    data = _rl_data(tmp_path)
    argv = _dry_run(capsys, "rloo", ROOT / "launch/openrlhf/grpo.yaml", f"data={data}", "algo=rloo")
    assert argv[argv.index("--data.max_images_per_prompt") + 1] == "1"
    env = json.loads(next(a for a in argv if a.startswith("--runtime-env-json=")).split("=", 1)[1])["env_vars"]
    assert env["REDSTAR_REWARD_DATASOURCES"] == "geoqa,math_hard"
    assert env["REDSTAR_REWARD_FORMAT_PENALTY"] == "0.1"


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["flags={ds.zero_stag: 3}"], "has no flag --ds.zero_stag (did you mean --ds.zero_stage"),
        (["n_samples_per_prompt=1"], "rloo requires n_samples_per_prompt > 1"),
        (["flags={actor.loss_agg_mode: mean}"], "invalid choice: 'mean'"),
        (["algo=ppo"], "the config is for algo 'ppo' but --algo rloo"),
    ],
)
def test_bad_configs_fail_before_anything_runs(tmp_path, capsys, overrides, message):
    data = _rl_data(tmp_path)
    code = main(
        [
            "rl",
            "launch",
            "--algo",
            "rloo",
            str(ROOT / "launch/openrlhf/grpo.yaml"),
            f"data={data}",
            "algo=rloo",
            *overrides,
            "--dry-run",
        ]
    )
    assert code == 2
    assert message in capsys.readouterr().err


def test_sft_rows_given_to_rl_are_refused_naming_the_row(tmp_path, capsys):
    data = tmp_path / "sft.jsonl"
    data.write_text(json.dumps({"messages": [{"role": "user", "content": "q"}]}) + "\n")
    assert (
        main(
            [
                "rl",
                "launch",
                "--algo",
                "ppo",
                str(ROOT / "launch/openrlhf/redstar_ppo.yaml"),
                f"data={data}",
                "--dry-run",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "sft.jsonl:1:" in err and "missing ['prompt', 'label']" in err


@pytest.mark.parametrize("algo", ["reinforce++", "dpo"])
def test_slurm_script_starts_the_nodes_and_runs_the_checked_command(tmp_path, capsys, algo):
    config = ROOT / "launch/openrlhf" / CONFIGS[algo]
    script = tmp_path / "job.sbatch"
    out_dir = tmp_path / "run"
    assert (
        main(
            [
                "rl",
                "launch",
                "--algo",
                algo,
                str(config),
                "cluster.nodes=3",
                f"output_dir={out_dir}",
                "cluster.partition=gpu",
                "cluster.setup=['source .venv/bin/activate']",
                "--slurm",
                str(script),
            ]
        )
        == 0
    )
    text = script.read_text()
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    assert "#SBATCH --nodes=3" in text and "#SBATCH --partition=gpu" in text and out_dir.is_dir()
    assert text.index("source .venv/bin/activate") < text.index("scontrol show hostnames")
    last = shlex.split(text.strip().splitlines()[-1].replace("${head_ip}", "HEAD"))
    # Slurm 22.05+ does not pass --cpus-per-task on to srun: every srun step names its CPUs
    sruns = [line for line in text.splitlines() if line.strip().startswith(("srun", "head_ip=$(srun"))]
    assert sruns and all('--cpus-per-task="$cpus"' in line for line in sruns), sruns
    assert "cpus=${SLURM_CPUS_PER_TASK:-$SLURM_CPUS_ON_NODE}" in text
    if algo == "dpo":
        # no deepspeed --hostfile (pdsh + ssh between nodes): one torchrun per node through srun
        assert "hostfile" not in text and "deepspeed" not in text
        assert last[:5] == ["srun", "--nodes=3", "--ntasks-per-node=1", "--cpus-per-task=$cpus", "torchrun"]
        assert "--nnodes=3" in last and "--nproc_per_node=8" in last and "--rdzv_endpoint=HEAD:29500" in last
        assert last[last.index("-m") + 1] == "openrlhf.cli.train_dpo"
    else:
        assert "ray start --head" in text and 'ray start --address="$head_ip:$port"' in text
        assert text.count('--num-cpus="$cpus"') == 2
        assert last[:4] == ["ray", "job", "submit", "--address=http://HEAD:8265"]
        assert last[last.index("--actor.num_nodes") + 1] == "3"
        assert last[last.index("--vllm.num_engines") + 1] == "24"


def test_launch_without_the_gpu_stack_says_what_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no deepspeed / ray here
    data = tmp_path / "dpo.jsonl"
    data.write_text(
        json.dumps(
            {
                "prompt": [{"role": "user", "content": "q"}],
                "chosen": [{"role": "assistant", "content": "a"}],
                "rejected": [{"role": "assistant", "content": "b"}],
            }
        )
        + "\n"
    )
    out = tmp_path / "run"
    code = main(
        [
            "rl",
            "launch",
            "--algo",
            "dpo",
            str(ROOT / "launch/openrlhf/redstar_dpo.yaml"),
            f"data={data}",
            f"output_dir={out}",
        ]
    )
    assert code == 2
    assert "'deepspeed' is not on PATH" in capsys.readouterr().err
    assert not out.exists()


def test_uploaded_working_dir_gets_a_relative_reward_path(capsys):
    argv = _dry_run(capsys, "reinforce++", ROOT / "launch/openrlhf/redstar_reinforce_pp.yaml", f"working_dir={ROOT}")
    assert argv[argv.index("--reward.remote_url") + 1] == "redstar/rl/reward.py"
    runtime = json.loads(next(a for a in argv if a.startswith("--runtime-env-json=")).split("=", 1)[1])
    assert runtime["working_dir"] == str(ROOT) and ".venv" in runtime["excludes"]


def _dist_name(module: str) -> str:
    """The distribution that provides a top-level module (its own name, hyphenated, when it
    is not installed here: flash_attn -> flash-attn)."""
    from importlib.metadata import packages_distributions

    found = packages_distributions().get(module)
    return re.sub(r"[-_.]+", "-", found[0] if found else module).lower()


@pytest.mark.parametrize("algo", ["dpo", "grpo"])
def test_install_line_names_every_module_a_clean_environment_misses(algo):
    """A clean environment (redstar's own dependencies + openrlhf --no-deps) is emulated in a
    subprocess; every module the OpenRLHF entry fails to import there is in the hint."""
    from redstar.rl.launch import install_line

    entry = "openrlhf.cli.train_dpo" if algo == "dpo" else "openrlhf.cli.train_ppo_ray"
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("clean_env_imports.py")), entry],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    missing = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "pylatexenc" in missing and "peft" in missing  # what --no-deps leaves out (the reported failure)
    line = install_line(algo)
    named = {re.split(r"[\[<>=!~; ]", w.strip("'"), maxsplit=1)[0].lower() for w in line.split()}
    assert line.startswith("pip install --no-deps openrlhf==0.11.2 && pip install ")
    assert sorted(m for m in missing if _dist_name(m) not in named) == []


def test_requirements_match_the_installed_openrlhf_metadata():
    from importlib.metadata import requires

    from redstar.rl.launch import OPENRLHF_REQUIREMENTS, OPENRLHF_ROLLOUT_REQUIREMENTS

    reqs = requires("openrlhf")
    core = sorted(
        r for r in reqs if "extra ==" not in r and re.split(r"[\[<>=]", r)[0] not in ("torch", "transformers")
    )
    assert sorted(OPENRLHF_REQUIREMENTS) == core
    assert any(r.startswith(OPENRLHF_ROLLOUT_REQUIREMENTS[0]) and 'extra == "vllm"' in r for r in reqs)


def test_local_launch_stops_with_the_complete_install_line(tmp_path, capsys, monkeypatch):
    import redstar.rl.launch as launch

    monkeypatch.setattr(launch.shutil, "which", lambda tool: "/usr/bin/" + tool)  # the launcher is there
    monkeypatch.setattr(launch, "missing_requirements", lambda algo: ["pylatexenc", "torchdata"])
    data = tmp_path / "dpo.jsonl"
    data.write_text(
        json.dumps(
            {
                "prompt": [{"role": "user", "content": "q"}],
                "chosen": [{"role": "assistant", "content": "a"}],
                "rejected": [{"role": "assistant", "content": "b"}],
            }
        )
        + "\n"
    )
    code = main(["rl", "launch", "--algo", "dpo", str(ROOT / "launch/openrlhf/redstar_dpo.yaml"), f"data={data}"])
    err = capsys.readouterr().err
    assert code == 2 and "(pylatexenc, torchdata)" in err
    assert "pip install --no-deps openrlhf==0.11.2 && pip install" in err and " pylatexenc " in err


def test_code_prompts_need_a_working_sandbox_before_submitting(tmp_path, capsys, monkeypatch):
    import redstar.rl.launch as launch
    from redstar.verify import sandbox_bwrap

    monkeypatch.setattr(launch.shutil, "which", lambda tool: "/usr/bin/" + tool)
    monkeypatch.setattr(launch, "missing_requirements", lambda algo: [])
    started = []
    monkeypatch.setattr(launch.subprocess, "call", lambda cmd: started.append(cmd) or 0)

    def no_bwrap():
        raise sandbox_bwrap.SandboxUnavailable("bwrap: not found")

    monkeypatch.setattr(sandbox_bwrap, "check", no_bwrap)
    monkeypatch.delenv("REDSTAR_REWARD_SANDBOX", raising=False)
    code_row = {
        "prompt": [{"role": "user", "content": "Print 1."}],
        "label": json.dumps({"answer": None, "kind": "code", "tests": {"inputs": [""], "outputs": ["1"]}}),
        "images": [],
        "datasource": "taco",
    }
    cfg = ROOT / "launch/openrlhf/grpo.yaml"
    argv = [
        "rl",
        "launch",
        "--algo",
        "grpo",
        str(cfg),
        "cluster.nodes=1",
        f"data={_rl_data(tmp_path, [code_row])}",
        f"output_dir={tmp_path / 'o'}",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "1 prompts are graded by running code" in err and "bwrap: not found" in err and not started
    # math prompts only: no sandbox needed, the job starts
    assert main(argv[:-2] + [f"data={_rl_data(tmp_path)}", f"output_dir={tmp_path / 'o2'}"]) == 0 and started

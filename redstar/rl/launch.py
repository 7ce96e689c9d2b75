"""Build, check and start OpenRLHF jobs: DPO with deepspeed, the PPO family with ``ray job submit``.

    cfg = load_config(RLLaunchConfig, "launch/openrlhf/redstar_ppo.yaml")
    job = build_job(cfg, "ppo")                       # flags + command, nothing run yet
    warnings = check_job(job)                          # the pinned OpenRLHF's parser + asserts
    write_slurm(job, cfg, "runs/ppo/job.sbatch")       # Ray head + workers across nodes

Algorithms map onto OpenRLHF 0.11.2 as follows: ``dpo`` -> ``openrlhf.cli.train_dpo``;
``ppo`` -> ``--algo.advantage.estimator gae`` with a critic; ``reinforce++`` -> ``reinforce``
(REINFORCE++: global advantage normalisation, KL in the reward); ``grpo`` -> ``group_norm`` with
the k3 KL as a loss; ``rloo`` -> ``rloo``. All but DPO grade rollouts with the rule reward in
``redstar/rl/reward.py`` (1 if the answer verifies, else 0), whose options travel as
environment variables in the Ray runtime env.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redstar.config import ConfigError
from redstar.rl.reward import LaunchOptions

if TYPE_CHECKING:
    from redstar.rl.export import LengthLimit

ALGOS = ("dpo", "ppo", "reinforce++", "grpo", "rloo")
# What OpenRLHF 0.11.2 needs at run time: its package metadata (Requires-Dist) less torch and
# transformers, which redstar pins itself (openrlhf pins transformers==5.15.0, so it is
# installed with --no-deps and everything else it imports must be installed by name).
OPENRLHF_REQUIREMENTS = (
    "accelerate",
    "aiohttp",
    "bitsandbytes",
    "datasets",
    "deepspeed==0.19.6",
    "einops",
    "flash-attn==2.8.3",
    "grpcio>=1.74.0",
    "huggingface-hub>=1.0.0",
    "isort",
    "jsonlines",
    "loralib",
    "optimum",
    "optree>=0.15.0",
    "packaging",
    "peft",
    "pylatexenc",
    "pynvml>=12.0.0",
    "ray[default]==2.55.0",
    "sympy",
    "tensorboard",
    "torchdata",
    "torchmetrics",
    "tqdm",
    "transformers-stream-generator",
    "wandb",
    "wheel",
)
OPENRLHF_ROLLOUT_REQUIREMENTS = ("vllm==0.29.0",)  # the PPO family's rollout engines (its [vllm] extra)
ESTIMATORS = {"ppo": "gae", "reinforce++": "reinforce", "grpo": "group_norm", "rloo": "rloo"}
HEAD = "__HEAD__"  # placeholder for the head node in SLURM scripts


@dataclass
class RewardSettings(LaunchOptions):
    """Options of the rule reward (declared in redstar/rl/reward.py); sent to Ray workers as env
    vars. ``script`` picks the reward file itself."""

    script: str = field(default="", metadata={"help": '"" = this package\'s redstar/rl/reward.py (absolute path)'})


@dataclass
class ClusterSettings:
    nodes: int = field(default=1, metadata={"help": "nodes of the job"})
    gpus_per_node: int = field(default=8, metadata={"help": "GPUs on each node"})
    partition: str = field(default="", metadata={"help": 'SLURM partition ("": the cluster\'s default)'})
    account: str = field(default="", metadata={"help": 'SLURM account ("": none)'})
    time: str = field(default="48:00:00", metadata={"help": "SLURM time limit"})
    cpus_per_task: int = field(default=0, metadata={"help": "0 = leave to SLURM"})
    ray_port: int = field(default=6379, metadata={"help": "Ray head port (PPO family)"})
    dashboard_port: int = field(default=8265, metadata={"help": "Ray dashboard port, where jobs are submitted"})
    master_port: int = field(default=29500, metadata={"help": "deepspeed rendezvous (DPO)"})
    setup: list[str] = field(default_factory=list, metadata={"help": "shell lines run first (modules, venv)"})


@dataclass
class RLLaunchConfig:
    model: str = field(metadata={"help": "SFT checkpoint (HF directory) or hub id"})
    data: str = field(metadata={"help": "`redstar rl export` output: preference rows (DPO) or RL prompts"})
    algo: str = field(default="", metadata={"help": "optional; must agree with --algo when both are given"})
    output_dir: str = field(
        default="runs/rl", metadata={"help": "where OpenRLHF writes checkpoints and the final model"}
    )
    working_dir: str = field(
        default="", metadata={"help": 'Ray runtime-env working_dir ("" = shared filesystem, no upload)'}
    )
    max_len: int = field(default=8192, metadata={"help": "prompt + response tokens"})
    max_new_tokens: int = field(default=4096, metadata={"help": "rollout length (PPO family)"})
    lr: float = field(default=5e-7, metadata={"help": "actor / policy learning rate"})
    critic_lr: float = field(default=9e-6, metadata={"help": "ppo only"})
    beta: float = field(default=0.1, metadata={"help": "DPO beta"})
    kl_coef: float = field(
        default=0.01, metadata={"help": "PPO family: KL coefficient (reward penalty, or loss for grpo)"}
    )
    batch_size: int = field(default=128, metadata={"help": "global train batch (sequences)"})
    micro_batch_size: int = field(default=1, metadata={"help": "sequences per GPU per forward pass"})
    epochs: int = field(default=1, metadata={"help": "passes over each batch (DPO: over the data)"})
    episodes: int = field(default=1, metadata={"help": "PPO family: passes over the prompt set"})
    rollout_batch_size: int = field(default=128, metadata={"help": "prompts per rollout"})
    n_samples_per_prompt: int = field(
        default=8, metadata={"help": "PPO family: rollouts per prompt (GRPO's group size)"}
    )
    temperature: float = field(default=1.0, metadata={"help": "PPO family: rollout sampling temperature"})
    vllm_tensor_parallel: int = field(default=1, metadata={"help": "PPO family: GPUs per vLLM rollout engine"})
    zero_stage: int = field(default=3, metadata={"help": "DeepSpeed ZeRO stage of the trainers"})
    save_steps: int = field(default=-1, metadata={"help": "steps between checkpoints (-1: only the final model)"})
    reward: RewardSettings = field(
        default_factory=RewardSettings, metadata={"help": "the rule reward's options (PPO family)"}
    )
    cluster: ClusterSettings = field(
        default_factory=ClusterSettings, metadata={"help": "nodes, GPUs and SLURM settings"}
    )
    flags: dict[str, Any] = field(default_factory=dict, metadata={"help": "extra / overriding OpenRLHF flags, no '--'"})


@dataclass
class Job:
    algo: str
    entry: str  # "dpo" | "ppo_ray" (redstar.rl.openrlhf_cli.ENTRY_MODULES)
    module: str
    flags: list[str]  # what follows the module on the command line
    env: dict[str, str]  # reward options (PPO family)
    data_info: dict  # what the data scan found (rows, datasources, images)

    def command(
        self,
        nodes: int = 1,
        gpus_per_node: int = 8,
        head: str = "127.0.0.1",
        dashboard_port: int = 8265,
        master_port: int = 29500,
        rdzv_id: str = "redstar-dpo",
        working_dir: str = "",
    ) -> list[str]:
        if self.entry == "dpo":
            if nodes > 1:
                # one torchrun per node (started by srun under SLURM), c10d rendezvous on the head:
                # no pdsh / ssh between nodes, as deepspeed --hostfile would need
                launcher = [
                    "torchrun",
                    f"--nnodes={nodes}",
                    f"--nproc_per_node={gpus_per_node}",
                    "--rdzv_backend=c10d",
                    f"--rdzv_endpoint={head}:{master_port}",
                    f"--rdzv_id={rdzv_id}",
                    "-m",
                ]
                return launcher + [self.module] + self.flags
            return ["deepspeed", "--num_gpus", str(gpus_per_node), "--module", self.module] + self.flags
        runtime_env: dict[str, Any] = {"env_vars": self.env}
        if working_dir:
            runtime_env["working_dir"] = working_dir
            runtime_env["excludes"] = [".git", ".venv", "runs", "*.safetensors", "*.bin", "*.pt"]
        return [
            "ray",
            "job",
            "submit",
            f"--address=http://{head}:{dashboard_port}",
            "--runtime-env-json=" + json.dumps(runtime_env, sort_keys=True),
            "--",
            "python3",
            "-m",
            self.module,
        ] + self.flags


def requirements(algo: str) -> list[str]:
    """Every package an OpenRLHF ``algo`` job imports, beyond redstar's own dependencies."""
    return list(OPENRLHF_REQUIREMENTS) + (list(OPENRLHF_ROLLOUT_REQUIREMENTS) if algo != "dpo" else [])


def install_line(algo: str) -> str:
    """The complete install, as one shell line: OpenRLHF without its pins, then what it imports."""
    from redstar.rl.openrlhf_cli import PINNED_VERSION

    reqs = " ".join(shlex.quote(r) for r in requirements(algo))
    return f"pip install --no-deps openrlhf=={PINNED_VERSION} && pip install --no-build-isolation {reqs}"


def missing_requirements(algo: str) -> list[str]:
    """The distributions of ``requirements(algo)`` (openrlhf included) not installed here."""
    import re
    from importlib.metadata import PackageNotFoundError, version

    missing = []
    for req in ["openrlhf", *requirements(algo)]:
        name = re.split(r"[\[<>=!~; ]", req, maxsplit=1)[0]
        try:
            version(name)
        except PackageNotFoundError:
            missing.append(name)
    return missing


def preflight(algo: str, code_rows: int) -> None:
    """What a job needs on the machine that starts it, checked before anything is submitted:
    OpenRLHF's run-time packages (named with the complete install line), and, when the data
    has code labels, the sandbox the rule reward runs code in (``REDSTAR_REWARD_SANDBOX``,
    default bwrap), which fails closed rather than grading every program 0 mid-run."""
    import os

    missing = missing_requirements(algo)
    if missing:
        raise ConfigError(
            f"OpenRLHF {algo} needs packages that are not installed here ({', '.join(missing)}); "
            f"install them with: {install_line(algo)}"
        )
    if code_rows and algo != "dpo":
        from redstar.verify.code_sandbox import SandboxUnavailable, check_sandbox

        sandbox = os.environ.get("REDSTAR_REWARD_SANDBOX", "")
        try:
            check_sandbox(sandbox)
        except (SandboxUnavailable, ValueError) as e:
            raise ConfigError(
                f"{code_rows} prompts are graded by running code, and the reward's sandbox "
                f"({sandbox or 'bwrap'}) cannot run here: {e}"
            ) from None


def scan_data(path: str, algo: str) -> dict:
    """Check that the data file has the columns the algorithm reads; collect datasources/images."""
    p = Path(path)
    if not p.is_file():
        return {"checked": False}
    from redstar.dataio import iter_located

    need = ("prompt", "chosen", "rejected") if algo == "dpo" else ("prompt", "label")
    rows, sources, max_images, code_rows = 0, set(), 0, 0
    for where, row in iter_located(p):
        missing = [k for k in need if k not in row]
        if missing:
            hint = (
                "run 'redstar rl export' on preference rows"
                if algo == "dpo"
                else "run 'redstar rl export' on RL prompt rows"
            )
            raise ConfigError(f"{where}: {algo} data needs columns {list(need)}, missing {missing} ({hint})")
        if algo != "dpo" and not isinstance(row["label"], str):
            raise ConfigError(f"{where}: label must be the JSON string 'redstar rl export' writes")
        if algo != "dpo" and '"kind": "code"' in row["label"]:  # encode_label's own spelling
            code_rows += 1
        rows += 1
        sources.add(str(row.get("datasource") or "default"))
        max_images = max(max_images, len(row.get("images") or []))
    if rows == 0:
        raise ConfigError(f"{path}: no rows")
    return {
        "checked": True,
        "rows": rows,
        "datasources": sorted(sources),
        "max_images": max_images,
        "code_rows": code_rows,
    }


def render_flags(flags: dict[str, Any]) -> list[str]:
    argv: list[str] = []
    for name, value in flags.items():
        if value is None or value is False:
            continue  # off switches and unset values are left to OpenRLHF's defaults
        flag = "--" + name.lstrip("-")
        if value is True:
            argv.append(flag)
        elif isinstance(value, (list, tuple)):
            argv += [flag] + [str(v) for v in value]
        else:
            argv += [flag, str(value)]
    return argv


def _reward_script(cfg: RLLaunchConfig) -> str:
    """The reward file as the vLLM engines will open it: relative to the uploaded working_dir
    when it lies inside it, else an absolute path on the shared filesystem."""
    if cfg.reward.script:
        return cfg.reward.script
    import redstar.rl.reward as reward

    path = Path(reward.__file__).resolve()
    if cfg.working_dir:
        try:
            return str(path.relative_to(Path(cfg.working_dir).resolve()))
        except ValueError:
            pass
    return str(path)


def _local(path: str, hub_ok: bool = False) -> str:
    """An absolute path: the Ray job driver and deepspeed ranks do not start in our directory.

    With ``hub_ok`` (models), a missing path shaped like a hub id ('owner/name') stays as is.
    """
    from redstar.dataio import looks_like_hub_id

    if hub_ok and not Path(path).exists() and looks_like_hub_id(path):
        return path
    return str(Path(path).expanduser().resolve())


def build_job(cfg: RLLaunchConfig, algo: str) -> Job:
    """The OpenRLHF flags for ``algo`` from ``cfg`` (``cfg.flags`` last, so they win)."""
    from redstar.rl.export import DATA_FLAGS
    from redstar.rl.reward import env_from_settings

    if algo not in ALGOS:
        raise ConfigError(f"--algo must be one of {', '.join(ALGOS)}, got {algo!r}")
    if cfg.algo and cfg.algo != algo:
        raise ConfigError(f"the config is for algo '{cfg.algo}' but --algo {algo} was given")
    info = scan_data(cfg.data, algo)
    out = _local(cfg.output_dir)
    common = {
        "data.max_len": cfg.max_len,
        "train.batch_size": cfg.batch_size,
        "train.micro_batch_size": cfg.micro_batch_size,
        "train.max_epochs": cfg.epochs,
        "ds.zero_stage": cfg.zero_stage,
        "ds.param_dtype": "bf16",
        "ckpt.output_dir": out,
        "ckpt.path": f"{out}/ckpt",
        "ckpt.save_steps": cfg.save_steps,
        "ckpt.save_hf": True,
        "logger.logging_steps": 1,
    }
    if algo == "dpo":
        flags = {
            "model.model_name_or_path": _local(cfg.model, hub_ok=True),
            "data.dataset": _local(cfg.data),
            **DATA_FLAGS["preference"],
            **common,
            "adam.lr": cfg.lr,
            "model.beta": cfg.beta,
            "model.gradient_checkpointing_enable": True,
        }
        flags.update(cfg.flags)
        return Job(algo, "dpo", "openrlhf.cli.train_dpo", render_flags(flags), {}, info)

    n, g, tp = cfg.cluster.nodes, cfg.cluster.gpus_per_node, cfg.vllm_tensor_parallel
    if (n * g) % tp:
        raise ConfigError(f"vllm_tensor_parallel={tp} does not divide {n} nodes x {g} GPUs")
    # Colocated hybrid engine: actor, reference and vLLM share every GPU and sleep in turn.
    flags = {
        "actor.num_nodes": n,
        "actor.num_gpus_per_node": g,
        "ref.num_nodes": n,
        "ref.num_gpus_per_node": g,
        "vllm.num_engines": n * g // tp,
        "vllm.tensor_parallel_size": tp,
        "train.colocate_all": True,
        "vllm.enable_sleep": True,
        "ds.enable_sleep": True,
        "vllm.gpu_memory_utilization": 0.6,
        "actor.model_name_or_path": _local(cfg.model, hub_ok=True),
        "reward.remote_url": _reward_script(cfg),
        "data.prompt_dataset": _local(cfg.data),
        **DATA_FLAGS["rl"],
        **common,
        "rollout.max_new_tokens": cfg.max_new_tokens,
        "rollout.batch_size": cfg.rollout_batch_size,
        "rollout.micro_batch_size": cfg.micro_batch_size,
        "rollout.n_samples_per_prompt": cfg.n_samples_per_prompt,
        "rollout.temperature": cfg.temperature,
        "train.num_episodes": cfg.episodes,
        "algo.advantage.estimator": ESTIMATORS[algo],
        "algo.kl.init_coef": cfg.kl_coef,
        "actor.adam.lr": cfg.lr,
        "actor.gradient_checkpointing_enable": True,
    }
    if algo == "ppo":
        flags.update(
            {
                "critic.num_nodes": n,
                "critic.num_gpus_per_node": g,
                "critic.model_name_or_path": _local(cfg.model, hub_ok=True),
                "critic.adam.lr": cfg.critic_lr,
            }
        )
    if algo == "grpo":
        flags.update({"algo.kl.use_loss": True, "algo.kl.estimator": "k3"})
    if info.get("max_images"):
        flags["data.max_images_per_prompt"] = info["max_images"]
    flags.update(cfg.flags)
    settings = {k: getattr(cfg.reward, k) for k in RewardSettings.__dataclass_fields__ if k != "script"}
    if not settings["datasources"] and info.get("datasources"):
        settings["datasources"] = info["datasources"]
    if settings.get("tokenizer"):  # read by the reward workers, which start elsewhere
        settings["tokenizer"] = _local(settings["tokenizer"], hub_ok=True)
    return Job(algo, "ppo_ray", "openrlhf.cli.train_ppo_ray", render_flags(flags), env_from_settings(settings), info)


def check_job(job: Job) -> list[str]:
    """Every flag against the pinned OpenRLHF parser and validation; returns its warnings."""
    from redstar.rl.openrlhf_cli import check_command

    return check_command(job.entry, job.flags)


def _sbatch_header(cfg: RLLaunchConfig, job: Job) -> list[str]:
    c = cfg.cluster
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name=redstar-{job.algo.replace('+', 'p')}",
        f"#SBATCH --nodes={c.nodes}",
        "#SBATCH --ntasks-per-node=1",
        f"#SBATCH --gres=gpu:{c.gpus_per_node}",
        "#SBATCH --exclusive",
        f"#SBATCH --time={c.time}",
        f"#SBATCH --output={_local(cfg.output_dir)}/slurm-%j.log",
    ]
    lines += [f"#SBATCH --partition={c.partition}"] if c.partition else []
    lines += [f"#SBATCH --account={c.account}"] if c.account else []
    lines += [f"#SBATCH --cpus-per-task={c.cpus_per_task}"] if c.cpus_per_task else []
    return lines + [
        "",
        "set -euo pipefail",
        *c.setup,
        f"mkdir -p {shlex.quote(_local(cfg.output_dir))}",
        "# Slurm 22.05+ does not pass the job's CPUs per task on to srun: every step names them",
        "cpus=${SLURM_CPUS_PER_TASK:-$SLURM_CPUS_ON_NODE}",
        'nodes=($(scontrol show hostnames "$SLURM_JOB_NODELIST"))',
        "head=${nodes[0]}",
        'head_ip=$(srun --nodes=1 --ntasks=1 --cpus-per-task="$cpus" -w "$head" hostname --ip-address '
        "| awk '{print $1}')",
        "",
    ]


def slurm_script(job: Job, cfg: RLLaunchConfig) -> str:
    """A batch script: DPO as one torchrun per node (srun); PPO family via a Ray head plus workers."""
    c = cfg.cluster
    lines = _sbatch_header(cfg, job)
    code_rows = int(job.data_info.get("code_rows", 0))
    lines += [
        "# packages (with the complete install line) and, for code prompts, the reward's sandbox",
        f"python3 -c {shlex.quote(f'from redstar.rl.launch import preflight; preflight({job.algo!r}, {code_rows})')}",
        "",
    ]
    if job.entry == "dpo":
        # one torchrun per node through srun; on one node deepspeed's local launcher is enough
        cmd = job.command(c.nodes, c.gpus_per_node, head=HEAD, master_port=c.master_port, rdzv_id="__JOBID__")
        srun = f'srun --nodes={c.nodes} --ntasks-per-node=1 --cpus-per-task="$cpus" ' if c.nodes > 1 else ""
        text = srun + shlex.join(cmd).replace(HEAD, "${head_ip}").replace("__JOBID__", "${SLURM_JOB_ID}")
        return "\n".join(lines + [text, ""])
    total = c.nodes * c.gpus_per_node
    lines += [
        f"port={c.ray_port}",
        "# Ray head on the first node, one worker per other node; --block keeps them in the job.",
        f'srun --nodes=1 --ntasks=1 --cpus-per-task="$cpus" -w "$head" ray start --head --node-ip-address="$head_ip" '
        f"--port=$port --dashboard-host=0.0.0.0 --dashboard-port={c.dashboard_port} --num-gpus={c.gpus_per_node} "
        f'--num-cpus="$cpus" --block &',
        "sleep 10",
        'for node in "${nodes[@]:1}"; do',
        f'  srun --nodes=1 --ntasks=1 --cpus-per-task="$cpus" -w "$node" ray start --address="$head_ip:$port" '
        f'--num-gpus={c.gpus_per_node} --num-cpus="$cpus" --block &',
        "done",
        "# Wait until every GPU has joined (at most 10 minutes).",
        "for _ in $(seq 120); do",
        f"  python3 -c \"import ray,sys; ray.init(address='$head_ip:$port', logging_level=40); "
        f"sys.exit(ray.cluster_resources().get('GPU', 0) < {total})\" && break",
        "  sleep 5",
        "done",
        "",
    ]
    cmd = job.command(c.nodes, c.gpus_per_node, head=HEAD, dashboard_port=c.dashboard_port, working_dir=cfg.working_dir)
    lines.append(shlex.join(cmd).replace(HEAD, "${head_ip}"))
    return "\n".join(lines + [""])


def write_slurm(job: Job, cfg: RLLaunchConfig, path: str) -> str:
    from redstar.dataio import atomic_write_text

    Path(_local(cfg.output_dir)).mkdir(parents=True, exist_ok=True)  # SLURM writes its log there
    atomic_write_text(path, slurm_script(job, cfg))
    Path(path).chmod(0o755)
    return path


def run_local(job: Job, cfg: RLLaunchConfig) -> int:
    """Start the job from this machine (one node): deepspeed, or ``ray job submit`` to a running Ray."""
    from redstar.config import save_config
    from redstar.dataio import atomic_write_text

    c = cfg.cluster
    cmd = job.command(1, c.gpus_per_node, dashboard_port=c.dashboard_port, working_dir=cfg.working_dir)
    tool = cmd[0]
    if shutil.which(tool) is None:
        raise ConfigError(
            f"'{tool}' is not on PATH: on a GPU node install OpenRLHF and what it imports with: "
            f"{install_line(job.algo)} (or write a SLURM script with --slurm)"
        )
    preflight(job.algo, job.data_info.get("code_rows", 0))
    if job.entry == "ppo_ray":
        print(
            f"submitting to the Ray cluster at http://127.0.0.1:{c.dashboard_port} "
            f"(start one with 'ray start --head --num-gpus={c.gpus_per_node}')"
        )
    out = Path(cfg.output_dir)
    save_config(cfg, out / "launch_config.yaml")  # the resolved config beside the checkpoints
    atomic_write_text(out / "launch_command.sh", "#!/bin/bash\n" + shlex.join(cmd) + "\n")
    return subprocess.call(cmd)


def load_length_limit(
    config: str | None = None,
    max_len: int | None = None,
    tokenizer: str | None = None,
    max_new_tokens: int | None = None,
) -> LengthLimit | None:
    """The limit from a launch config (its ``max_len``, ``max_new_tokens`` and ``model``'s
    tokenizer) and/or explicit values (which win); None when neither gives max_len."""
    from redstar.config import load_config
    from redstar.rl.export import LengthLimit

    if config:
        cfg = load_config(RLLaunchConfig, config, [])
        max_len = max_len if max_len is not None else cfg.max_len
        tokenizer = tokenizer or cfg.model
        if max_new_tokens is None and (cfg.algo or "dpo") != "dpo":
            max_new_tokens = cfg.max_new_tokens
    if max_len is None:
        if tokenizer:
            raise ConfigError("--tokenizer needs --max-len (or --config LAUNCH.yaml) to check lengths against")
        return None
    if not tokenizer:
        raise ConfigError("--max-len needs the policy's tokenizer: --tokenizer DIR (or --config LAUNCH.yaml)")
    from redstar.models import load_tokenizer

    try:
        tok = load_tokenizer(tokenizer)
    except OSError as e:
        raise ConfigError(f"cannot load the policy's tokenizer {tokenizer!r} to count tokens: {e}") from None
    return LengthLimit(max_len, tok, max_new_tokens or 0)

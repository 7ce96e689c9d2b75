"""Publish a trained model or a curation output to the Hugging Face Hub.

    plan = push("runs/sft", "me/redstar-sft", dry_run=True)   # card written, files listed, nothing sent
    push("runs/curate", "me/redstar-data")                     # a dataset repo (curation output)

What goes up is decided by patterns, the same way ``HfApi.upload_folder`` applies them (and with
its own filter, so the dry-run list is exactly what a push sends):
- a model: the model directory (``final/`` of a run) with its card, ``loss.png``,
  ``training_metrics.jsonl`` and copied eval reports; ``checkpoints/`` and ``tensorboard/`` of the
  run only when asked (``include=["checkpoints", "tensorboard"]``), optimizer, scheduler and RNG
  states only with ``"optimizer"`` as well;
- a dataset: the exports, subsets, funnel, report and card; ``work/``, ``chunks/`` and ``prep/``
  (intermediate state) stay home.
The card is (re)written before anything is listed. With ``HF_HUB_OFFLINE=1`` a real push is
refused with a clear message; a dry run is always allowed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from redstar.config import ConfigError
from redstar.release.cardfile import human_size

INCLUDES = ("checkpoints", "tensorboard", "optimizer")
ALWAYS_IGNORE = [".git/*", ".cache/*", "*/.cache/*", ".*", "*/.*", "*.tmp", "*/__pycache__/*", "*.pyc"]
OPTIMIZER_STATES = [
    "*optim.pt",
    "*optimizer*.pt",
    "*optimizer*.bin",
    "*sched.pt",
    "*scheduler*.pt",
    "*rng*.pt",
    "*rng_state*.pth",
    "*/global_step*/*optim_states.pt",
    "*zero_pp_rank_*_optim_states.pt",
]
DATASET_IGNORE = ["work/*", "chunks/*", "prep/*", "manifests/*", "shards/*", "run.json"]
REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass
class PushConfig:
    """``push:`` in sft / dpo / rm train configs: publish the final model when training ends."""

    repo: str | None = field(
        default=None, metadata={"help": "hub repository owner/name to publish the final model to (unset: no push)"}
    )
    private: bool = field(default=False, metadata={"help": "create the hub repository as private"})
    revision: str | None = field(default=None, metadata={"help": "branch (created if missing)"})
    include: list[str] = field(
        default_factory=list, metadata={"help": "also upload the run's checkpoints, tensorboard, or optimizer states"}
    )
    license: str | None = field(
        default=None, metadata={"help": "licence in the model card (unset: the base model's, else 'other')"}
    )
    datasets: list[str] = field(default_factory=list, metadata={"help": "hub datasets the model was trained on"})


@dataclass
class Upload:
    folder: Path
    path_in_repo: str
    allow: list[str] | None
    ignore: list[str]
    files: list[tuple[str, int]] = field(default_factory=list)  # (path in repo, bytes)


@dataclass
class PushPlan:
    kind: str  # "model" | "dataset"
    repo: str
    card: Path
    uploads: list[Upload]

    @property
    def files(self) -> list[tuple[str, int]]:
        return [f for u in self.uploads for f in u.files]

    def listing(self) -> str:
        files = self.files
        width = max((len(p) for p, _ in files), default=10)
        lines = [f"{p:<{width}}  {human_size(n):>9}" for p, n in files]
        lines.append(f"{len(files)} files, {human_size(sum(n for _, n in files))} -> {self.kind} repo {self.repo}")
        return "\n".join(lines)


def detect_kind(path: Path) -> str:
    if (path / "final" / "config.json").is_file() or (path / "config.json").is_file():
        return "model"
    if (path / "funnel.json").is_file() or (path / "sft.jsonl").is_file():
        return "dataset"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such directory")
    raise ConfigError(
        f"{path}: neither a trained model (config.json or final/config.json) nor a curation output (funnel.json)"
    )


def _list(folder: Path, allow: list[str] | None, ignore: list[str], prefix: str) -> list[tuple[str, int]]:
    from huggingface_hub.utils import filter_repo_objects

    rel = {p.relative_to(folder).as_posix(): p for p in sorted(folder.glob("**/*")) if p.is_file()}
    kept = filter_repo_objects(list(rel), allow_patterns=allow, ignore_patterns=ignore)
    return [(prefix + r, rel[r].stat().st_size) for r in kept]


def plan_push(
    path: str | Path,
    repo: str,
    include: list[str] | tuple = (),
    revision: str | None = None,
    license: str | None = None,
    datasets: list[str] | None = None,
) -> PushPlan:
    """Write the card and decide every file that a push sends (nothing leaves the machine)."""
    if not REPO_RE.match(repo or ""):
        raise ConfigError(f"--repo {repo!r}: expected owner/name")
    bad = [i for i in include if i not in INCLUDES]
    if bad:
        raise ConfigError(f"--include {bad[0]!r}: choose from {', '.join(INCLUDES)}")
    path = Path(path)
    kind = detect_kind(path)
    ignore = list(ALWAYS_IGNORE)
    if kind == "dataset":
        from redstar.release.dataset_card import refresh_dataset_card

        card = refresh_dataset_card(path)
        ignore += DATASET_IGNORE
        up = Upload(path, "", None, ignore)
        up.files = _list(path, None, ignore, "")
        return PushPlan(kind, repo, card, [up])
    from redstar.release.model_card import refresh_model_card, resolve_model_dir

    model_dir, run_dir = resolve_model_dir(path)
    card = refresh_model_card(model_dir, repo=repo, revision=revision, license=license, datasets=datasets)
    if "optimizer" not in include:
        ignore += OPTIMIZER_STATES
    model_ignore = ignore + ["checkpoints/*", "tensorboard/*"]
    uploads = [Upload(model_dir, "", None, model_ignore)]
    extra = [f"{name}/*" for name in ("checkpoints", "tensorboard") if name in include]
    if extra:
        if run_dir is None:
            raise ConfigError(
                f"{path}: --include {' '.join(include)} needs a training run directory "
                "(with final/ and checkpoints/), not a bare model directory"
            )
        uploads.append(Upload(run_dir, "", extra, ignore))
    for u in uploads:
        u.files = _list(u.folder, u.allow, u.ignore, u.path_in_repo)
    return PushPlan(kind, repo, card, uploads)


def hub_offline() -> bool:
    """HF_HUB_OFFLINE as huggingface_hub reads it (checked now, not at its import)."""
    value = os.environ.get("HF_HUB_OFFLINE")
    if value is not None:
        return value.strip().lower() in ("1", "on", "yes", "true")
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def push(
    path: str | Path,
    repo: str,
    private: bool = False,
    revision: str | None = None,
    dry_run: bool = False,
    include: list[str] | tuple = (),
    license: str | None = None,
    datasets: list[str] | None = None,
    message: str | None = None,
    echo=print,
) -> PushPlan:
    """Rewrite the card, list what goes up, and (unless ``dry_run``) create the repo and upload."""
    plan = plan_push(path, repo, include=include, revision=revision, license=license, datasets=datasets)
    echo(plan.listing())
    echo(f"card: {plan.card}")
    if dry_run:
        echo("dry run: nothing was sent")
        return plan
    if hub_offline():
        raise ConfigError(
            f"HF_HUB_OFFLINE=1 is set, so nothing is pushed to {repo}; unset it to push "
            "(the card is written; --dry-run lists the files)"
        )
    if not plan.files:
        raise ConfigError(f"{path}: nothing to push (every file is excluded)")
    from huggingface_hub import HfApi, errors

    api = HfApi()
    repo_type = plan.kind
    msg = message or f"redstar push: {Path(path).name}"
    try:
        url = api.create_repo(repo, repo_type=repo_type, private=private, exist_ok=True)
        if revision:
            api.create_branch(repo, branch=revision, repo_type=repo_type, exist_ok=True)
        for u in plan.uploads:
            if u.files:
                api.upload_folder(
                    repo_id=repo,
                    folder_path=str(u.folder),
                    path_in_repo=u.path_in_repo or None,
                    repo_type=repo_type,
                    revision=revision,
                    allow_patterns=u.allow,
                    ignore_patterns=u.ignore,
                    commit_message=msg,
                )
    except (errors.HTTPError, errors.HFValidationError, OSError) as e:
        # no token, no network, no rights: the Hub's own words, on one line
        first = (str(e).strip().splitlines() or [""])[0]
        raise ConfigError(f"push to {repo} failed: {type(e).__name__}: {first}") from None
    echo(f"pushed {len(plan.files)} files to {url}" + (f" (revision {revision})" if revision else ""))
    return plan


def push_after_training(final_dir: str | Path, cfg: PushConfig, echo=print) -> PushPlan | None:
    """Push a finished run per its config's ``push:`` block (nothing when ``push.repo`` is unset).
    A refused or failed push names the command that retries it; the training result stays."""
    if not cfg.repo:
        return None
    final = Path(final_dir)
    run = final.parent if final.name == "final" and (final.parent / "final").is_dir() else final
    retry = f"redstar push {run} --repo {cfg.repo}"
    try:
        return push(
            run,
            cfg.repo,
            private=cfg.private,
            revision=cfg.revision,
            include=cfg.include,
            license=cfg.license,
            datasets=cfg.datasets or None,
            echo=echo,
        )
    except ConfigError as e:
        raise ConfigError(f"training finished ({final}) but it was not pushed: {e}. Retry with: {retry}") from None

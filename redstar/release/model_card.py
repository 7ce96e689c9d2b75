"""The one model-card writer: trainers give it their text, ``refresh_model_card`` completes it.

    card = render_model_card({"base_model": "default", "tags": ["sft"]}, "# redstar SFT ...")  # at export
    refresh_model_card("runs/sft")        # or runs/sft/final: metadata, loss plot, config, eval results

The card (``README.md`` of the model directory) carries the metadata the Hub reads:
``base_model`` (a local parent model is followed to the hub model it came from), ``datasets``,
``license``, ``library_name``, ``tags`` and ``model-index`` (from ``eval_results.json``). Its body
keeps the trainer's text and adds two blocks that every rewrite replaces: the evaluation
results, and training (the loss plot and the resolved training config). Rewriting is
idempotent: the same inputs give the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from redstar.config import ConfigError
from redstar.release.cardfile import render_card, set_block, split_card

# a licence is only claimed where it is known: the embedded default model's is Apache-2.0
KNOWN_LICENSES = {"HuggingFaceTB/SmolLM2-135M-Instruct": "apache-2.0"}


def resolve_model_dir(path: str | Path) -> tuple[Path, Path | None]:
    """(model directory, training run directory or None) for a run dir or a model dir."""
    p = Path(path)
    if (p / "final" / "config.json").is_file():
        return p / "final", p
    if (p / "config.json").is_file():
        run = p.parent if p.name == "final" and (p.parent / "metrics.jsonl").is_file() else None
        return p, run
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such directory")
    raise ConfigError(f"{p}: not a model directory (no config.json) nor a training run (no final/config.json)")


def _read_card(path: Path) -> tuple[dict, str]:
    if not path.is_file():
        return {}, ""
    return split_card(path.read_text(encoding="utf-8"), str(path))


def hub_base_model(name: str | None, _depth: int = 0) -> str | None:
    """The hub id a model descends from: 'default' is the embedded model; a local directory is
    followed through its own card's base_model (None when that leads nowhere)."""
    from redstar.models import DEFAULT_MODEL, DEFAULT_MODEL_NAME

    if not name or name == "tiny" or _depth > 8:
        return None
    if name == DEFAULT_MODEL:
        return DEFAULT_MODEL_NAME
    p = Path(name)
    if p.exists():
        meta, _ = _read_card(p / "README.md") if p.is_dir() else ({}, "")
        base = meta.get("base_model")
        return hub_base_model(base if isinstance(base, str) else None, _depth + 1)
    from redstar.dataio import looks_like_hub_id

    return name if looks_like_hub_id(name) else None


def render_model_card(meta: dict, body: str) -> str:
    """A card from a trainer: ``meta`` may name a local or 'default' base model (resolved to its
    hub id here); library_name defaults to transformers and 'redstar' is always a tag."""
    meta = dict(meta)
    base = meta.get("base_model")
    meta["base_model"] = hub_base_model(base) if isinstance(base, str) else base
    meta.setdefault("library_name", "transformers")
    meta["tags"] = _tags(meta.get("tags"))
    return render_card(meta, body)


def _tags(tags) -> list[str]:
    out = ["redstar"]
    for t in tags or []:
        if t not in out:
            out.append(str(t))
    return out


def _copy(src: Path, dst: Path) -> None:
    from redstar.dataio import atomic_open

    if src.resolve() == dst.resolve():
        return
    data = src.read_bytes()
    if dst.is_file() and dst.read_bytes() == data:
        return
    with atomic_open(dst, "wb") as f:
        f.write(data)


def _config(model_dir: Path) -> tuple[dict, str]:
    path = model_dir / "redstar_config.yaml"
    if not path.is_file():
        return {}, ""
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        raise ConfigError(f"{path}: not valid YAML") from None
    return (data if isinstance(data, dict) else {}), text


def _train_files(cfg: dict) -> list[str]:
    files: list[str] = []
    for part in [cfg.get("data")] + [s.get("data") for s in cfg.get("stages") or [] if isinstance(s, dict)]:
        if isinstance(part, dict):
            for key in ("train", "samples"):
                v = part.get(key)
                files += [str(x) for x in (v if isinstance(v, list) else [v] if v else [])]
    return files


def _hub_datasets(files: list[str]) -> list[str]:
    from redstar.dataio import looks_like_hub_id

    return [f for f in files if looks_like_hub_id(f) and not Path(f).exists()]


def _loss_summary(run_dir: Path | None) -> str:
    import json

    if run_dir is None or not (run_dir / "metrics.jsonl").is_file():
        return ""
    rows = []
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and isinstance(row.get("loss"), (int, float)):
            rows.append(row)
    if not rows:
        return ""
    return (
        f"{len(rows)} logged optimizer steps; loss {rows[0]['loss']:.4f} at step {rows[0].get('step', 1)} -> "
        f"{rows[-1]['loss']:.4f} at step {rows[-1].get('step', len(rows))} "
        "(every step in `training_metrics.jsonl`)."
    )


def _results_table(entries: list[dict]) -> str:
    if not entries:
        return ""
    lines = [
        "## Evaluation results",
        "",
        (
            "Percentages; pass@1 is the mean over samples. Each row's command re-runs it "
            "(metrics and report under `eval/`)."
        ),
        "",
        "| benchmark | dataset | items x samples | metric | value | command |",
        "|---|---|---|---|---:|---|",
    ]
    for e in entries:
        d = e["dataset"]
        ds = (
            f"{d['name']} (`{d['type']}`"
            + (f", {d['config']}" if d.get("config") else "")
            + (f", {d['split']}" if d.get("split") else "")
            + ")"
        )
        for i, m in enumerate(e["metrics"]):
            head = f"{e['key']} | {ds} | {e.get('n_items')} x {e.get('n_samples')}" if i == 0 else " | | "
            cmd = f"`{e['command']}`" if i == 0 else ""
            lines.append(f"| {head} | {m['type']} | {m['value']:.2f} | {cmd} |")
    return "\n".join(lines)


def refresh_model_card(
    path: str | Path,
    repo: str | None = None,
    revision: str | None = None,
    license: str | None = None,
    datasets: list[str] | None = None,
) -> Path:
    """(Re)write README.md of the model in ``path`` (a run dir or a model dir); returns its path.

    Copies the run's ``loss.png`` and ``metrics.jsonl`` (as ``training_metrics.jsonl``) into the
    model directory so the card's links work wherever the folder goes."""
    from redstar.dataio import atomic_write_text
    from redstar.release.model_index import load_results, model_index

    model_dir, run_dir = resolve_model_dir(path)
    card_path = model_dir / "README.md"
    meta, body = _read_card(card_path)
    cfg, cfg_text = _config(model_dir)

    base = meta.get("base_model") or hub_base_model(cfg.get("model") if isinstance(cfg.get("model"), str) else None)
    meta["base_model"] = base
    files = _train_files(cfg)
    meta["datasets"] = list(datasets) if datasets else (meta.get("datasets") or _hub_datasets(files))
    lic = license or meta.get("license") or _inherited_license(cfg.get("model")) or KNOWN_LICENSES.get(str(base))
    meta["license"] = lic or "other"
    meta["library_name"] = meta.get("library_name") or "transformers"
    meta["tags"] = _tags(meta.get("tags"))
    entries = load_results(model_dir)
    name = repo.split("/")[-1] if repo else (run_dir.name if run_dir else model_dir.name)
    meta.pop("model-index", None)
    meta["model-index"] = model_index(name, entries, repo=repo, revision=revision)
    if not body.strip():
        body = f"# {name}\n\nTrained with redstar from `{base or cfg.get('model', '?')}`."

    training = []
    if run_dir is not None and (run_dir / "loss.png").is_file():
        _copy(run_dir / "loss.png", model_dir / "loss.png")
    if run_dir is not None and (run_dir / "metrics.jsonl").is_file():
        _copy(run_dir / "metrics.jsonl", model_dir / "training_metrics.jsonl")
    if (model_dir / "loss.png").is_file() or cfg_text:
        training.append("## Training curves and config")
    summary = _loss_summary(run_dir)
    if summary:
        training += ["", summary]
    if (model_dir / "loss.png").is_file():
        training += ["", "![training loss](loss.png)"]
    if files:
        training += ["", "Training data: " + ", ".join(f"`{f}`" for f in files) + "."]
    if cfg_text:
        training += [
            "",
            "The resolved training config (`redstar_config.yaml`):",
            "",
            "```yaml",
            cfg_text.strip(),
            "```",
        ]
    body = set_block(body, "results", _results_table(entries))
    body = set_block(body, "training", "\n".join(training))
    atomic_write_text(card_path, render_card(meta, body))
    return card_path


def _inherited_license(base: str | None) -> str | None:
    if isinstance(base, str) and Path(base).is_dir():
        meta, _ = _read_card(Path(base) / "README.md")
        return meta.get("license")
    return None

"""Eval runs into a model's card: store each run's entry and evidence, then rewrite the card.

    add_eval_results("runs/sft/final", ["runs/eval/aime", "runs/eval/mh"])   # stores, copies, rewrites the card
    other_model(metrics, model_dir)      # "model runs/geo/final" when the scores are another model's, else None

``redstar card DIR --eval ...`` skips (one line each) the runs ``other_model`` names;
``redstar eval --card`` refuses them. The entry format is ``model_index``'s; the card is
``model_card``'s.
"""

from __future__ import annotations

from pathlib import Path

from redstar.config import ConfigError
from redstar.release.model_card import refresh_model_card, resolve_model_dir
from redstar.release.model_index import RESULTS_FILE, eval_entry, load_results, read_eval_metrics


def other_model(metrics: dict, model_dir: str | Path) -> str | None:
    """The model that generated ``metrics``' responses when it is not the one in ``model_dir``:
    the embedded default or another local directory (a hub id or stored responses cannot be
    checked, and count as this model's). None when the scores may be this model's."""
    gen_model = metrics.get("model")
    if not isinstance(gen_model, str) or not gen_model:
        return None
    if gen_model == "default":
        return gen_model
    p = Path(gen_model)
    if p.exists() and p.resolve() != Path(model_dir).resolve():
        return gen_model
    return None


def add_eval_results(
    model_dir: str | Path, eval_dirs: list[str | Path], metrics: list[dict] | None = None
) -> list[dict]:
    """Record each eval run's scores for the model in ``model_dir`` (a run or model directory)
    and rewrite its card; returns every stored entry.

    ``metrics`` (one dict per dir) skips reading metrics.json (``redstar eval --card`` passes the
    scores it just computed). A run that generated with another model (``other_model``) is
    refused: its scores are not this model's."""
    from redstar.dataio import atomic_open, write_json

    model_dir, _ = resolve_model_dir(model_dir)
    stored = {e["key"]: e for e in load_results(model_dir)}
    for i, d in enumerate(eval_dirs):
        d = Path(d)
        m = metrics[i] if metrics else read_eval_metrics(d)
        where = str(d / "metrics.json")
        other = other_model(m, model_dir)
        if other:  # e.g. the base model's scores passed for the trained one
            raise ConfigError(f"{where}: these scores are for model {other}, not {model_dir}")
        entry = eval_entry(m, str(d), where)
        stored[entry["key"]] = entry
        dst = model_dir / "eval" / entry["key"]
        dst.mkdir(parents=True, exist_ok=True)
        for name in ("metrics.json", "report.md"):
            if (d / name).is_file() and (d / name).resolve() != (dst / name).resolve():
                with atomic_open(dst / name, "wb") as f:
                    f.write((d / name).read_bytes())
    entries = sorted(stored.values(), key=lambda e: e["key"])
    write_json(model_dir / RESULTS_FILE, {"results": entries})
    refresh_model_card(model_dir)
    return entries

"""The leaderboard across eval runs: one row per run, never merged by model.

    rows = compare_rows(["runs/eval/base/aime24", "runs/eval/sft/aime24"], labels=None)
    md, csv_text = leaderboard_markdown(rows, sort_by="pass@1"), leaderboard_csv(rows)

A run is one ``redstar eval`` output directory. Its row is named by ``--label`` or, by default,
by the shortest tail of its path that tells it apart from the others (``base/aime24`` and
``sft/aime24``), and shows the model, its base model and revision, the benchmark, the scoring
protocol and the decoding settings, then every score: pass@1 (mean), pass@k, maj@k, rm@k.
Rows are sorted by the chosen metric, best first; runs without it go last.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

from redstar.config import ConfigError
from redstar.release.model_index import read_eval_metrics

FIXED = ["run", "model", "base", "revision", "benchmark", "protocol", "decoding", "items"]


def run_labels(dirs: list[Path]) -> list[str]:
    """The shortest path tail naming each directory uniquely."""
    parts = [Path(d).resolve().parts for d in dirs]
    labels = []
    for i, p in enumerate(parts):
        for n in range(1, len(p) + 1):
            tail = p[-n:]
            if all(q[-n:] != tail for j, q in enumerate(parts) if j != i):
                break
        labels.append("/".join(tail))
    return labels


def _decoding(m: dict) -> str:
    gen = m.get("generation")
    if gen:
        return (
            f"T={gen.get('temperature')} top_p={gen.get('top_p')} n={gen.get('n', m.get('n_samples'))} "
            f"max_new={gen.get('max_new_tokens')} seed={gen.get('seed')}"
        )
    return f"stored responses, n={m.get('n_samples')}"


def model_base_revision(model: str | None) -> tuple[str, str]:
    """(base model, revision) of what was evaluated: a local directory's card names its base and
    the weights' date stands for the revision; a hub id is its own base, at the commit this
    machine's cache resolved (nothing is fetched)."""
    if not model:
        return "-", "-"
    p = Path(model)
    if p.exists():
        base = None
        card = p / "README.md"
        if card.is_file():
            from redstar.release.cardfile import split_card

            try:
                meta, _ = split_card(card.read_text(encoding="utf-8"), str(card))
                base = meta.get("base_model")
            except ConfigError:
                base = None
        weights = sorted(p.glob("*.safetensors")) or sorted(p.glob("*.bin")) or [p]
        rev = "local " + time.strftime("%Y-%m-%d %H:%M", time.gmtime(max(w.stat().st_mtime for w in weights)))
        return str(base or "-"), rev
    from redstar.release.model_card import hub_base_model

    hub = hub_base_model(model)
    if hub is None:
        return "-", "-"
    return hub, _cached_revision(hub)


def _cached_revision(repo: str) -> str:
    try:
        from huggingface_hub import constants
    except ImportError:
        return "-"
    ref = Path(constants.HF_HUB_CACHE) / f"models--{repo.replace('/', '--')}" / "refs" / "main"
    return ref.read_text().strip()[:12] if ref.is_file() else "-"


def _metric_keys(ms: list[dict]) -> list[str]:
    from redstar.release.model_index import score_keys

    keys: list[str] = []
    for m in ms:
        for k in score_keys(m):
            if k != "pass@1" and k not in keys:
                keys.append(k)
    order = {"pass": 0, "maj": 1, "rm": 2}
    return ["pass@1"] + sorted(keys, key=lambda k: (order[k.split("@")[0]], int(k.split("@")[1])))


def compare_rows(dirs: list[str], labels: list[str] | None = None) -> tuple[list[dict], list[str]]:
    """(rows, metric columns): one row per eval directory, metrics as fractions."""
    paths = [Path(d) for d in dirs]
    if labels and len(labels) != len(paths):
        raise ConfigError(f"--label gives {len(labels)} names for {len(paths)} --compare directories")
    ms = [read_eval_metrics(p) for p in paths]
    names = labels or run_labels(paths)
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ConfigError(f"--label {dup!r} names two runs; each row needs its own name")
    keys = _metric_keys(ms)
    rows = []
    for name, m in zip(names, ms):
        model = m.get("model")
        base, rev = model_base_revision(model)
        bench = m["benchmark"] + (f" ({str(m['subset']).split(':')[0]})" if m.get("subset") else "")
        row = {
            "run": name,
            "model": model or f"responses: {m.get('responses')}",
            "base": base,
            "revision": rev,
            "benchmark": bench,
            "protocol": m.get("protocol", "redstar"),
            "decoding": _decoding(m),
            "items": m["n_items"],
        }
        for k in keys:
            v = m["accuracy"] if k == "pass@1" else m.get(k)
            row[k] = v if isinstance(v, (int, float)) else None
        rows.append(row)
    return rows, keys


def sort_rows(rows: list[dict], keys: list[str], sort_by: str) -> list[dict]:
    if sort_by not in keys:
        raise ConfigError(f"--sort-by {sort_by!r}: the runs report {', '.join(keys)}")
    return sorted(rows, key=lambda r: (r[sort_by] is None, -(r[sort_by] or 0.0)))


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.1f}"


def leaderboard_markdown(rows: list[dict], keys: list[str], sort_by: str) -> str:
    head = FIXED + keys
    lines = [
        f"Sorted by {sort_by} (%, best first); one row per eval run.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(FIXED) + "---:|" * len(keys),
    ]
    for r in rows:
        cells = [str(r[c]).replace("|", "\\|") for c in FIXED] + [_pct(r[k]) for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def leaderboard_csv(rows: list[dict], keys: list[str]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(FIXED + keys)
    for r in rows:
        w.writerow([r[c] for c in FIXED] + ["" if r[k] is None else f"{100 * r[k]:.4f}" for k in keys])
    return buf.getvalue()

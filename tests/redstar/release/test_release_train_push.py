"""`push:` in a training config: a real (tiny, CPU) DPO run ends with its card completed by
the one card writer and its final model pushed through HfApi (recorded, never contacted); in
offline mode the push is refused after training with the command that retries it."""

import json
from pathlib import Path

from redstar.cli import main
from tests.redstar.release.release_fixtures import Recorder

ROOT = Path(__file__).resolve().parents[3]
PAIRS = next(
    p
    for p in (
        ROOT / "redstar" / "train" / "data" / "dpo_tiny.jsonl",
        ROOT / "tests" / "redstar" / "rl" / "data" / "dpo_tiny.jsonl",
    )
    if p.is_file()
)


def _dpo(out: Path, *overrides: str) -> int:
    """`redstar dpo` with the tiny CPU config on the stored pairs into ``out``."""
    return main(["dpo", str(ROOT / "configs" / "dpo_tiny_cpu.yaml"), f"out={out}", f"data.train=[{PAIRS}]", *overrides])


def test_dpo_run_pushes_when_it_finishes(tmp_path, monkeypatch, capsys):
    from huggingface_hub import ModelCard

    out = tmp_path / "dpo"
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    rec = Recorder(monkeypatch)
    assert _dpo(out, "train.max_steps=2", "push.repo=me/tiny-dpo", "push.private=true", "push.license=mit") == 0
    (create,) = rec.named("create_repo")
    assert create[1] == ("me/tiny-dpo",) and create[2]["private"] is True
    (up,) = rec.named("upload_folder")
    assert up[2]["folder_path"] == str(out / "final") and up[2]["repo_id"] == "me/tiny-dpo"
    # the card: the trainer's text completed with metadata, loss plot and the resolved config
    card = ModelCard.load(out / "final" / "README.md")
    meta = card.data.to_dict()
    assert meta["license"] == "mit" and meta["library_name"] == "transformers"
    assert {"redstar", "dpo"} <= set(meta["tags"])
    assert "# redstar DPO" in card.text and "Trained from `tiny` with `redstar dpo`" in card.text
    assert "![training loss](loss.png)" in card.text and (out / "final" / "loss.png").is_file()
    steps = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert f"{len(steps)} logged optimizer steps" in card.text
    assert "repo: me/tiny-dpo" in card.text  # the resolved config, push block included
    # a finished run is not trained again; the push block is no input of the result
    rec.calls.clear()
    assert _dpo(out, "train.max_steps=2", "push.repo=me/other") == 0
    assert rec.calls == []


def test_offline_push_after_training_names_the_retry(tmp_path, monkeypatch, capsys):
    out = tmp_path / "dpo"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    rec = Recorder(monkeypatch)
    assert _dpo(out, "train.max_steps=1", "push.repo=me/x") == 2
    err = capsys.readouterr().err
    assert f"training finished ({out / 'final'}) but it was not pushed: HF_HUB_OFFLINE=1 is set" in err
    assert f"Retry with: redstar push {out} --repo me/x" in err
    assert rec.calls == [] and (out / "final" / "config.json").is_file()

"""Model cards and `redstar push` for a trained model: the card round-trips through
huggingface_hub's own parser with the eval numbers, a dry run lists what a push sends and sends
nothing, a real push goes through HfApi (recorded, never contacted), and offline mode refuses."""

import json
import shutil

import pytest

from redstar.cli import main
from tests.redstar.release.release_fixtures import DEMO_DATA, Recorder, build_run, run_eval


def _card_results(readme):
    from huggingface_hub import ModelCard
    from huggingface_hub.repocard_data import model_index_to_eval_results

    card = ModelCard.load(readme)
    meta = card.data.to_dict()
    name, results = model_index_to_eval_results(meta["model-index"])
    return card, meta, name, results


def test_demo_run_dry_run_push_round_trips_eval_numbers(demo_dir, tmp_path, monkeypatch, capsys):
    run = tmp_path / "dpo"
    shutil.copytree(demo_dir / "dpo", run)
    rec = Recorder(monkeypatch)
    evals = sorted((demo_dir / "eval" / "trained").iterdir())
    assert main(["card", str(run), "--eval", *map(str, evals)]) == 0
    capsys.readouterr()
    assert main(["push", str(run), "--repo", "me/demo-dpo", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert rec.calls == []  # nothing left the machine
    assert "dry run: nothing was sent" in out

    # every file that would go up, with its size; run state stays home
    listed = {line.split()[0]: line for line in out.splitlines() if line and not line.startswith(("card:", "dry run"))}
    for name in (
        "README.md",
        "config.json",
        "model.safetensors",
        "loss.png",
        "training_metrics.jsonl",
        "eval/math-hard/metrics.json",
        "eval/aime24/report.md",
        "redstar_config.yaml",
    ):
        assert name in listed, name
    assert listed["model.safetensors"].split()[-2:] == ["2.0", "KiB"]
    assert not any(p.startswith(("checkpoints", "tensorboard")) or "optim" in p for p in listed)

    card, meta, name, results = _card_results(run / "final" / "README.md")
    assert name == "demo-dpo"
    assert meta["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"  # 'default' resolved
    assert meta["license"] == "apache-2.0" and meta["library_name"] == "transformers"
    assert {"redstar", "dpo"} <= set(meta["tags"])
    got = {(r.dataset_name, r.metric_type): r for r in results}
    for d in evals:
        m = json.loads((d / "metrics.json").read_text())
        pretty = {"math-hard": "MATH-Hard", "aime24": "AIME 2024"}[m["benchmark"]]
        keys = ["pass@1"] + [k for k in m if k.split("@")[0] in ("pass", "maj", "rm") and k != "pass@1"]
        assert len(keys) == 7  # pass@1,2,4, maj@2,4, rm@2,4
        for k in keys:
            r = got[(pretty, k)]
            assert r.metric_value == round(100 * m[k], 2), (pretty, k)
            assert r.task_type == "text-generation" and r.dataset_type == m["benchmark"]
            assert r.source_name.startswith(f"redstar eval --benchmark {m['benchmark']} --data ")
            assert f"--out {d}" in r.source_name and "--samples 4" in r.source_name
            assert r.source_url == f"https://huggingface.co/me/demo-dpo/blob/main/eval/{m['benchmark']}/metrics.json"
    # the body: trainer text kept, results table, loss plot and resolved config
    assert "Trained with `redstar dpo`" in card.text and "![training loss](loss.png)" in card.text
    assert "lr: 5.0e-07" in card.text and "| math-hard | MATH-Hard" in card.text


def test_card_rewrite_is_idempotent_and_replaces_a_benchmark(demo_dir, tmp_path):
    run = tmp_path / "dpo"
    shutil.copytree(demo_dir / "dpo", run)
    mh = demo_dir / "eval" / "trained" / "math-hard"
    assert main(["card", str(run), "--eval", str(mh)]) == 0
    readme = run / "final" / "README.md"
    first = readme.read_text()
    assert main(["card", str(run)]) == 0
    assert readme.read_text() == first
    # a newer math-hard run replaces the old one instead of adding a second result
    rerun = run_eval(tmp_path / "mh2", "math-hard", DEMO_DATA / "math_hard.jsonl", [True, True, True, False])
    assert main(["card", str(run / "final"), "--eval", str(rerun)]) == 0
    _, _, _, results = _card_results(readme)
    values = [r.metric_value for r in results if r.metric_type == "pass@1"]
    assert values == [round(100 * json.loads((rerun / "metrics.json").read_text())["accuracy"], 2)]
    assert readme.read_text().count("<!-- redstar:results -->") == 1


def _scored_by(src, dst, model):
    shutil.copytree(src, dst)
    m = json.loads((dst / "metrics.json").read_text())
    (dst / "metrics.json").write_text(json.dumps({**m, "model": model, "responses": None}))
    return dst


def test_card_skips_scores_of_another_model_one_line_each(demo_dir, tmp_path, capsys):
    run = build_run(tmp_path / "run")
    other = build_run(tmp_path / "other")
    src = demo_dir / "eval" / "trained"
    # as under the demo's eval/trained/*: this model's runs beside a geometry model's and the base model's
    mine = _scored_by(src / "math-hard", tmp_path / "ev" / "math-hard", str(run / "final"))
    geo = _scored_by(src / "aime24", tmp_path / "ev" / "geoqa", str(other / "final"))
    base = _scored_by(src / "aime24", tmp_path / "ev" / "aime24", "default")
    assert main(["card", str(run), "--eval", str(geo), str(mine), str(base)]) == 0
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        f"skipped {geo}: its scores are for model {other / 'final'}, not {run / 'final'}",
        f"skipped {base}: its scores are for model default, not {run / 'final'}",
    ]
    assert out.splitlines()[0].startswith("math-hard: pass@1 ")
    stored = json.loads((run / "final" / "eval_results.json").read_text())["results"]
    assert [e["key"] for e in stored] == ["math-hard"]
    assert not (run / "final" / "eval" / "aime24").exists()
    # only other models' runs: nothing to add, an error
    assert main(["card", str(run), "--eval", str(geo), str(base)]) == 2
    assert "none of the 2 --eval runs scored" in capsys.readouterr().err


def test_eval_card_refuses_scores_of_another_model(demo_dir, tmp_path):
    from redstar.config import ConfigError
    from redstar.release.eval_results import add_eval_results

    run = build_run(tmp_path / "run")
    d = _scored_by(demo_dir / "eval" / "trained" / "aime24", tmp_path / "ev", "default")
    with pytest.raises(ConfigError, match=r"metrics\.json: these scores are for model default, not "):
        add_eval_results(run, [d])
    assert not (run / "final" / "eval_results.json").exists()


def test_card_bad_eval_dir_is_one_line_error(tmp_path, capsys):
    run = build_run(tmp_path / "run")
    (tmp_path / "ev").mkdir()
    (tmp_path / "ev" / "metrics.json").write_text('{"benchmark": "aime24",\n "accuracy": }')
    assert main(["card", str(run), "--eval", str(tmp_path / "ev")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"redstar card: error: {tmp_path / 'ev' / 'metrics.json'}:2:") and "\n" not in err
    assert main(["card", str(run), "--eval", str(tmp_path / "nothing")]) == 2
    assert "not an eval output directory" in capsys.readouterr().err


def test_real_push_goes_through_hfapi(demo_dir, tmp_path, monkeypatch, capsys):
    run = tmp_path / "dpo"
    shutil.copytree(demo_dir / "dpo", run)
    assert main(["card", str(run), "--eval", str(demo_dir / "eval" / "trained" / "aime24")]) == 0
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    rec = Recorder(monkeypatch)
    assert (
        main(
            [
                "push",
                str(run),
                "--repo",
                "me/x",
                "--private",
                "--revision",
                "exp1",
                "--include",
                "checkpoints",
                "tensorboard",
            ]
        )
        == 0
    )
    # the card was rewritten for the repo and revision pushed: its source links point there
    _, _, name, results = _card_results(run / "final" / "README.md")
    assert name == "x" and results[0].source_url == "https://huggingface.co/me/x/blob/exp1/eval/aime24/metrics.json"
    (create,) = rec.named("create_repo")
    assert create[1] == ("me/x",) and create[2]["private"] is True and create[2]["repo_type"] == "model"
    assert rec.named("create_branch")[0][2]["branch"] == "exp1"
    model_up, run_up = rec.named("upload_folder")
    assert model_up[2]["folder_path"] == str(run / "final") and model_up[2]["revision"] == "exp1"
    assert run_up[2]["folder_path"] == str(run) and run_up[2]["allow_patterns"] == ["checkpoints/*", "tensorboard/*"]
    # what upload_folder would send under those patterns (its own filter): no optimizer states
    from huggingface_hub.utils import filter_repo_objects

    files = [p.relative_to(run).as_posix() for p in run.glob("**/*") if p.is_file()]
    sent = set(
        filter_repo_objects(
            files, allow_patterns=run_up[2]["allow_patterns"], ignore_patterns=run_up[2]["ignore_patterns"]
        )
    )
    assert sent == {
        "checkpoints/step-1/model.pt",
        "checkpoints/step-1/state.json",
        "tensorboard/events.out.tfevents.1.host",
    }
    final_files = [p.relative_to(run / "final").as_posix() for p in (run / "final").glob("**/*") if p.is_file()]
    assert set(filter_repo_objects(final_files, ignore_patterns=model_up[2]["ignore_patterns"])) == set(final_files)
    # optimizer states only when asked
    rec.calls.clear()
    assert main(["push", str(run), "--repo", "me/x", "--include", "checkpoints", "optimizer"]) == 0
    run_up = rec.named("upload_folder")[1]
    assert "checkpoints/step-1/optim.pt" in set(
        filter_repo_objects(
            files, allow_patterns=run_up[2]["allow_patterns"], ignore_patterns=run_up[2]["ignore_patterns"]
        )
    )


def test_offline_push_refuses_clearly(demo_dir, tmp_path, monkeypatch, capsys):
    run = tmp_path / "dpo"
    shutil.copytree(demo_dir / "dpo", run)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    rec = Recorder(monkeypatch)
    assert main(["push", str(run), "--repo", "me/x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "HF_HUB_OFFLINE=1 is set, so nothing is pushed to me/x" in err[0]
    assert rec.calls == []
    assert (run / "final" / "README.md").is_file()  # the card was still written first


@pytest.mark.parametrize(
    "argv,msg",
    [
        (["--repo", "not-a-repo"], "--repo 'not-a-repo': expected owner/name"),
        (["--repo", "me/x", "--include", "tensorboard"], "needs a training run directory"),
    ],
)
def test_push_bad_arguments(tmp_path, capsys, argv, msg):
    run = build_run(tmp_path / "run")
    shutil.copytree(run / "final", tmp_path / "bare")  # a model directory outside any run
    assert main(["push", str(tmp_path / "bare"), *argv, "--dry-run"]) == 2
    assert msg in capsys.readouterr().err


def test_push_of_a_missing_or_foreign_dir(tmp_path, capsys):
    assert main(["push", str(tmp_path / "nope"), "--repo", "me/x", "--dry-run"]) == 2
    assert "no such directory" in capsys.readouterr().err
    assert main(["push", str(tmp_path), "--repo", "me/x", "--dry-run"]) == 2
    assert "neither a trained model" in capsys.readouterr().err


def test_hub_failure_is_one_line(demo_dir, tmp_path, monkeypatch, capsys):
    from huggingface_hub import HfApi
    from huggingface_hub.errors import LocalTokenNotFoundError

    run = tmp_path / "dpo"
    shutil.copytree(demo_dir / "dpo", run)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")

    def no_token(*a, **k):
        raise LocalTokenNotFoundError("Token is required (`token=True`), but no token found.\nRun `hf auth login`.")

    monkeypatch.setattr(HfApi, "create_repo", no_token)
    assert main(["push", str(run), "--repo", "me/x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        (
            "redstar push: error: push to me/x failed: LocalTokenNotFoundError: Token is required "
            "(`token=True`), but no token found."
        )
    ]

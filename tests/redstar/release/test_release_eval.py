"""`redstar eval --card` puts the scores into the model's card as it scores; `redstar eval
--compare` keys rows by run, shows model, base, revision, protocol and decoding per row, and
writes the table as markdown and CSV sorted by a chosen metric."""

import csv
import io
import json
import shutil

from redstar.cli import main
from tests.eval.eval_fixtures import score_stored
from tests.redstar.release.release_fixtures import DEMO_DATA, build_run, write_responses


def test_eval_card_adds_scores_as_it_scores(tmp_path, capsys):
    from huggingface_hub import ModelCard
    from huggingface_hub.repocard_data import model_index_to_eval_results

    run = build_run(tmp_path / "sft", kind="sft")
    resp = write_responses(tmp_path / "r.jsonl", DEMO_DATA / "aime24.jsonl", [True, False, False])
    out = tmp_path / "ev"
    assert score_stored("aime24", DEMO_DATA / "aime24.jsonl", resp, out, "--samples", "4", "--card", str(run)) == 0
    m = json.loads((out / "metrics.json").read_text())
    card = ModelCard.load(run / "final" / "README.md")
    name, results = model_index_to_eval_results(card.data.to_dict()["model-index"])
    assert name == "sft"
    got = {r.metric_type: r.metric_value for r in results}
    assert got["pass@1"] == round(100 * m["accuracy"], 2) and got["maj@4"] == round(100 * m["maj@4"], 2)
    assert got["rm@2"] == round(100 * m["rm@2"], 2)
    assert results[0].dataset_name == "AIME 2024" and results[0].source_url == "eval/aime24/metrics.json"
    assert (run / "final" / "eval" / "aime24" / "report.md").is_file()


def test_eval_card_with_a_wrong_dir_fails_before_scoring(tmp_path, capsys):
    resp = write_responses(tmp_path / "r.jsonl", DEMO_DATA / "aime24.jsonl", [True])
    assert score_stored("aime24", DEMO_DATA / "aime24.jsonl", resp, tmp_path / "ev", "--card", str(tmp_path)) == 2
    assert "not a model directory" in capsys.readouterr().err
    assert not (tmp_path / "ev" / "metrics.json").exists()


def _as_run(src, dst, **changes):
    shutil.copytree(src, dst)
    m = json.loads((dst / "metrics.json").read_text())
    m.update(changes)
    (dst / "metrics.json").write_text(json.dumps(m))
    return m


def test_compare_keys_rows_by_run_and_writes_csv_and_markdown(demo_dir, tmp_path, capsys):
    model = build_run(tmp_path / "runs" / "sft") / "final"
    gen = {"temperature": 0.6, "top_p": 0.95, "max_new_tokens": 512, "seed": 0, "n": 4}
    # the same model twice (two decodings), and a base-model run of the same benchmark
    a = _as_run(
        demo_dir / "eval" / "trained" / "math-hard",
        tmp_path / "t06" / "math-hard",
        model=str(model),
        responses=None,
        generation=gen,
    )
    b = _as_run(
        demo_dir / "eval" / "base" / "math-hard",
        tmp_path / "t10" / "math-hard",
        model=str(model),
        responses=None,
        generation=dict(gen, temperature=1.0),
    )
    c = _as_run(
        demo_dir / "eval" / "trained" / "aime24",
        tmp_path / "base" / "aime24",
        model="default",
        responses=None,
        generation=None,
        protocol="official",
    )
    dirs = [tmp_path / "t06" / "math-hard", tmp_path / "t10" / "math-hard", tmp_path / "base" / "aime24"]
    out = tmp_path / "lb"
    assert main(["eval", "--compare", *map(str, dirs), "--sort-by", "maj@2", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    assert (out / "leaderboard.md").read_text() == table
    rows = list(csv.DictReader(io.StringIO((out / "leaderboard.csv").read_text())))
    assert [r["run"] for r in rows] == ["t06/math-hard", "t10/math-hard", "aime24"]  # sorted by maj@2, best first
    assert [float(r["maj@2"]) for r in rows] == sorted((round(100 * m["maj@2"], 4) for m in (a, b, c)), reverse=True)
    t06, t10, aime = rows
    assert t06["model"] == t10["model"] == str(model)  # two runs of one model: two rows
    assert t06["decoding"].startswith("T=0.6 ") and t10["decoding"].startswith("T=1.0 ")
    assert t06["base"] == "HuggingFaceTB/SmolLM2-135M-Instruct" and t06["revision"].startswith("local 20")
    assert aime["model"] == "default" and aime["base"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert aime["protocol"] == "official" and t06["protocol"] == "redstar"
    assert float(t06["pass@1"]) == round(100 * a["accuracy"], 4) and float(aime["rm@4"]) == round(100 * c["rm@4"], 4)
    md_rows = [line for line in table.splitlines() if line.startswith(("| t06/", "| t10/"))]
    assert len(md_rows) == 2 and table.index("| t06/math-hard") < table.index("| t10/math-hard") < table.index(
        "| aime24"
    )

    # --label names the rows; a clash or a miscount is a one-line error; so is an unknown metric
    capsys.readouterr()
    assert main(["eval", "--compare", *map(str, dirs), "--label", "hot", "cold", "base"]) == 0
    assert "| hot |" in capsys.readouterr().out
    assert main(["eval", "--compare", *map(str, dirs), "--label", "x", "x", "y"]) == 2
    assert "--label 'x' names two runs" in capsys.readouterr().err
    assert main(["eval", "--compare", *map(str, dirs), "--label", "x"]) == 2
    assert "--label gives 1 names for 3" in capsys.readouterr().err
    assert main(["eval", "--compare", *map(str, dirs), "--sort-by", "maj@64"]) == 2
    assert "--sort-by 'maj@64': the runs report pass@1" in capsys.readouterr().err

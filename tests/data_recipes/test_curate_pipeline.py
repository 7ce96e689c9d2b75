"""`redstar curate` end to end on replay responses: planted bad rows, resume after a kill,
shards + merge, and the exported rows checked against the fixture computed independently."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from redstar.cli import main
from redstar.records import PreferenceRow, RLPromptRow, Sample, SFTRow
from tests.data_recipes.curate_fixtures import BENCH, TOPICS, math_problems, responses_for

OUTPUTS = [
    "sft.jsonl",
    "preferences.jsonl",
    "rl_prompts.jsonl",
    "samples.jsonl",
    "funnel.json",
    "report.md",
    "subsets/hard.jsonl",
    "subsets/hard_control.jsonl",
]


def _rows(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def expected_sft(cap=2):
    """SFT rows the fixture should give: per problem, the distinct responses holding the gold
    answer in \\boxed{}, at most ``cap``; levels >= 5 also feed the 'hard' subset."""
    out = {}
    for k, p in enumerate(math_problems()):
        good = [r for r in dict.fromkeys(responses_for(p, k)) if f"\\boxed{{{p['answer']}}}" in r]
        out[p["id"]] = (good[:cap], p["difficulty"])
    return out


def test_curate_end_to_end(clean_run, capsys):
    recipe, out = clean_run
    for name in OUTPUTS + ["funnel.png"]:
        assert (out / name).is_file(), name

    # planted rows: the near-duplicate, the benchmark copy, the cut line, the row without a question
    dropped = _rows(out / "prep" / "dropped.jsonl")
    by_stage = {}
    for d in dropped:
        by_stage.setdefault(d["stage"], []).append(d)
    assert [(d["id"], d["duplicate_of"]) for d in by_stage["dedup"]] == [("m0-near", "m0")]
    (leak,) = by_stage["decontam"]
    assert leak["id"] == "leak" and leak["match"]["benchmark"] == "math_hard" and leak["match"]["item_id"] == "0"
    assert leak["match"]["item"].startswith(BENCH[0]["problem"][:30])
    wheres = sorted(d["where"] for d in by_stage["load"])
    assert any("math.jsonl:16" in w for w in wheres)  # the cut JSON line, by file:line
    assert any("math.jsonl:15 (id broken):" in w for w in wheres)  # the row without a question

    # SFT rows: exactly the correct, distinct responses, capped per prompt, in the chat format
    sft = _rows(out / "sft.jsonl")
    want = expected_sft()
    assert len(sft) == sum(len(g) for g, _ in want.values())
    for row in sft:
        SFTRow.from_row(row)
        system, user, assistant = row["messages"]
        assert system == {"role": "system", "content": "You should think step-by-step."}
        assert user["content"].endswith("Put the final answer in \\boxed{}.")
        topic = next(t for t in TOPICS if f" {t} into" in user["content"])
        gold_responses, _ = want[f"m{TOPICS.index(topic)}"]
        assert assistant["content"] in gold_responses

    prefs = _rows(out / "preferences.jsonl")
    assert len(prefs) == len(math_problems())  # every prompt has a wrong sample
    for row in prefs:
        PreferenceRow.from_row(row)
        assert "\\boxed{1}" in row["rejected"][0]["content"] or "boxed" not in row["rejected"][0]["content"]
    rl = _rows(out / "rl_prompts.jsonl")
    assert sorted(r["label"]["answer"] for r in rl) == sorted(p["answer"] for p in math_problems())
    for row in rl:
        RLPromptRow.from_row(row)
        assert row["label"]["kind"] == "math" and row["datasource"] == "pool"

    # samples.jsonl explains every sample; the loop and the answerless ones are dropped by filters
    samples = _rows(out / "samples.jsonl")
    assert len(samples) == 4 * len(math_problems())
    for s in samples:
        Sample.from_row(s)
    drops = {s["drop"] for s in samples}
    assert {"filter:repetition", "filter:answer", None} <= drops
    assert all("verdict" in s and "filters" in s for s in samples)

    # the funnel adds up and agrees with the files
    funnel = json.loads((out / "funnel.json").read_text())
    f = funnel["funnel"]
    assert (f["load"]["in"], f["load"]["out"]) == (16, 14)
    assert f["dedup"]["dropped"] == {"near duplicate": 1} and f["decontam"]["out"] == 12
    assert f["filters"]["in"] == len(samples)
    assert f["export_sft"]["out"] == len(sft) == funnel["counts"]["sft"]
    # hard subset: levels >= 5 only, capped at 6 rows; control of the same size from all SFT rows
    hard_n = min(6, sum(len(g) for g, lvl in want.values() if lvl >= 5))
    assert len(_rows(out / "subsets" / "hard.jsonl")) == hard_n
    control = _rows(out / "subsets" / "hard_control.jsonl")
    assert len(control) == hard_n and all(r in sft for r in control)
    assert "math_hard item `0`" in (out / "report.md").read_text()

    # a second run into the finished directory says so and leaves every output as it was
    before = {name: (out / name).read_bytes() for name in OUTPUTS}
    capsys.readouterr()
    assert main(["curate", str(recipe), "--out", str(out)]) == 0
    assert "already complete" in capsys.readouterr().out
    assert {name: (out / name).read_bytes() for name in OUTPUTS} == before
    assert json.loads((out / "run.json").read_text())["status"] == "complete"


KILLER = """
import os, signal, sys
import data_recipes.pipeline as pl
real = pl.judge_stage
def judge_stage(problems, samples, recipe, judges, k, funnel):
    if k == int(os.environ["KILL_AT_CHUNK"]):
        os.kill(os.getpid(), signal.SIGKILL)   # a real kill -9, mid-chunk, after sampling
    return real(problems, samples, recipe, judges, k, funnel)
pl.judge_stage = judge_stage
from redstar.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.integration
def test_killed_run_resumes_to_identical_output(clean_run):
    recipe, clean = clean_run
    killed = recipe.parent / "killed"
    env = dict(os.environ, KILL_AT_CHUNK="2")
    r = subprocess.run(
        [sys.executable, "-c", KILLER, "curate", str(recipe), "--out", str(killed)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert r.returncode == -9, r.stderr
    done = sorted(p.name for p in (killed / "chunks").glob("*.done.json"))
    assert done == ["00000.done.json", "00001.done.json"]
    assert (killed / "chunks" / "00002.sampled.jsonl").is_file()  # sampled, then killed
    assert not (killed / "sft.jsonl").exists()
    # a torn temp file, as a kill during a write leaves it, must not confuse the resume
    (killed / "chunks" / ".00002.samples.jsonl.abc.tmp").write_text('{"half": ')
    assert main(["curate", str(recipe), "--out", str(killed)]) == 0  # run again, as after any kill: it resumes
    for name in OUTPUTS:
        assert (killed / name).read_bytes() == (clean / name).read_bytes(), name


def test_shards_then_merge_equal_one_run(clean_run, capsys):
    recipe, single = clean_run
    sharded = recipe.parent / "sharded"
    assert main(["curate", str(recipe), "--out", str(sharded), "--shard", "1/2"]) == 0
    assert not (sharded / "sft.jsonl").exists()
    assert main(["curate", str(recipe), "--out", str(sharded), "--merge"]) == 2
    assert "not finished" in capsys.readouterr().err
    assert main(["curate", str(recipe), "--out", str(sharded), "--shard", "0/2"]) == 0
    manifest = json.loads((sharded / "manifests" / "shard-0-of-2.json").read_text())
    assert manifest["chunks_done"] == [0, 2]
    assert main(["curate", str(recipe), "--out", str(sharded), "--merge"]) == 0
    for name in OUTPUTS:
        assert (sharded / name).read_bytes() == (single / name).read_bytes(), name


def test_bad_input_is_a_clear_error(world, tmp_path, capsys):
    recipe, paths = world
    out = str(tmp_path / "o")
    assert main(["curate", str(recipe), "--out", out, "dedup.treshold=0.5"]) == 2
    assert "unknown key 'dedup.treshold'" in capsys.readouterr().err
    assert main(["curate", str(recipe), "--out", out, "--shard", "2/2"]) == 2
    assert "--shard" in capsys.readouterr().err
    assert main(["curate", str(recipe), "--out", out, "run.skip_bad=false"]) == 2
    assert "math.jsonl" in capsys.readouterr().err
    text = recipe.read_text().replace("responses.jsonl", "missing.jsonl")
    recipe.write_text(text)
    assert main(["curate", str(recipe), "--out", str(tmp_path / "o2")]) == 2
    assert "missing.jsonl" in capsys.readouterr().err
    # a different recipe cannot continue another recipe's run
    recipe.write_text(text.replace("missing.jsonl", "responses.jsonl"))
    assert main(["curate", str(recipe), "--out", str(tmp_path / "o3")]) == 0
    assert "SFT rows" in capsys.readouterr().out
    assert main(["curate", str(recipe), "--out", str(tmp_path / "o3"), "--resume", "dedup.threshold=0.5"]) == 2
    err = capsys.readouterr().err
    assert "dedup.threshold: 0.8 -> 0.5" in err and "--overwrite" in err and len(err.strip().splitlines()) == 1
    # --overwrite clears the directory and runs the new recipe
    (tmp_path / "o3" / "stale.txt").write_text("left over")
    assert main(["curate", str(recipe), "--out", str(tmp_path / "o3"), "--overwrite", "dedup.threshold=0.5"]) == 0
    assert not (tmp_path / "o3" / "stale.txt").exists()
    assert json.loads((tmp_path / "o3" / "run.json").read_text())["key"]["dedup.threshold"] == 0.5


def test_shipped_recipes_load_and_demo_data_is_valid():
    from data_recipes.recipe import load_recipe
    from data_recipes.sources import iter_source

    root = Path(__file__).resolve().parents[2] / "data_recipes" / "recipes"
    names = sorted(p.name for p in root.glob("*.yaml"))
    shipped = [
        "acemath_crosscheck.yaml",
        "collinear_curate.yaml",
        "demo.yaml",
        "redstar_code.yaml",
        "redstar_geo.yaml",
        "redstar_math.yaml",
    ]
    assert set(shipped) <= set(names)  # these ship; any other recipe there must load too
    for name in names:
        load_recipe(str(root / name))
    demo = load_recipe(str(root / "demo.yaml"))
    assert demo.sampling.teachers[0].backend.model == "default"
    kinds = {}
    for spec in demo.sources:
        for problem, drop in iter_source(spec, demo):
            assert drop is None, drop
            kinds[problem["domain"]] = kinds.get(problem["domain"], 0) + 1
    assert kinds["math"] >= 20 and kinds["code"] >= 3
    assert Path(demo.decontam.benchmarks[0].path).is_absolute() and Path(demo.decontam.benchmarks[0].path).is_file()

"""The demo keys each step on its command and the steps it reads from, not on a file existing:
a --quick run followed by a full run recomputes, an unchanged re-run skips."""

import json
from pathlib import Path

from redstar_demo import demo
from redstar_demo.demo import Step, plan
from redstar_demo.report import write_report


def _steps(tmp_path, value_a, value_b):
    a = Step("a", [str(tmp_path / "a"), value_a], tmp_path / "a" / "result.json", module="tests.redstar_demo.fake_step")
    b = Step(
        "b",
        [str(tmp_path / "b"), value_b],
        tmp_path / "b" / "result.json",
        module="tests.redstar_demo.fake_step",
        deps=(a,),
    )
    return [a, b]


def _run(tmp_path, steps, state):
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    seconds = [s.run(logs, i, len(steps), state) for i, s in enumerate(steps, 1)]
    for s in steps:
        state[s.name] = s.key()
    return seconds


def _calls(tmp_path):
    return (tmp_path / "calls.log").read_text().split("\n")[:-1]


def test_a_step_reruns_when_its_command_or_an_input_step_changed(tmp_path):
    state: dict = {}
    assert None not in _run(tmp_path, _steps(tmp_path, "quick", "x"), state)
    (tmp_path / "a" / "stale.txt").write_text("from the quick run")
    assert _run(tmp_path, _steps(tmp_path, "quick", "x"), state) == [None, None]  # same: skipped
    assert _calls(tmp_path) == ["a quick", "b x"]
    # step a's command changes: a runs again in a cleared directory, and b, which reads a, too
    seconds = _run(tmp_path, _steps(tmp_path, "full", "x"), state)
    assert None not in seconds and _calls(tmp_path)[2:] == ["a full", "b x"]
    assert not (tmp_path / "a" / "stale.txt").exists()
    assert json.loads((tmp_path / "b" / "result.json").read_text()) == {"value": "x"}
    # a step whose done file is gone runs again even with the same key
    (tmp_path / "b" / "result.json").unlink()
    assert _run(tmp_path, _steps(tmp_path, "full", "x"), state)[1] is not None


def test_quick_and_full_plans_share_no_step_key(tmp_path):
    quick, _ = plan(tmp_path / "demo", quick=True, skip_geo=False)
    full, _ = plan(tmp_path / "demo", quick=False, skip_geo=False)
    assert [s.name for s in quick] == [s.name for s in full]
    same = [q.name for q, f in zip(quick, full) if q.key() == f.key()]
    # the same commands in both, so a full run after a quick one reuses them: the synthetic
    # world's curation (a replay) and the scores of its random start on the whole held-out sets
    assert same == ["synthetic curate", "eval base synthetic-easy", "eval base synthetic-hard"]
    assert all(q.command() == f.command() for q, f in zip(quick, full) if q.name in same)
    # the trained model's evaluation depends on every training step before it
    trained = next(s for s in quick if s.name == "eval trained math-hard")
    assert [d.name for d in trained.deps] == ["dpo"] and [d.name for d in trained.deps[0].deps] == ["curate", "sft"]
    again, _ = plan(tmp_path / "demo", quick=True, skip_geo=False)
    assert [s.key() for s in again] == [s.key() for s in quick]
    assert demo.STATE_FILE == "steps.json"


def test_report_shows_only_the_planned_steps_results(tmp_path):
    out = tmp_path / "demo"
    steps, where = plan(out, quick=True, skip_geo=True)
    for label in ("base", "trained"):
        for bench, acc in (("math-hard", 0.5), ("geoqa", 0.25)):  # geoqa: left by an earlier full run
            d = where["eval"] / label / bench
            d.mkdir(parents=True)
            (d / "metrics.json").write_text(json.dumps({"accuracy": acc, "n_items": 2}))
    report = write_report(out, steps, where, {s.name: None for s in steps} | {"total": 1.0})
    text = report.read_text()
    assert "| math-hard | 2 | 50.0% | 50.0% |" in text and "geoqa" not in text
    assert "- curate: finished by an earlier run with the same command and inputs" in text


def test_a_rerun_that_skips_every_step_keeps_the_timings_of_the_run_that_did_the_work(tmp_path, monkeypatch, capsys):
    import argparse

    out = tmp_path / "demo"
    steps = _steps(tmp_path, "quick", "x")
    where = {k: out / k for k in ("curate", "sft", "dpo", "geo_sft", "eval")}
    monkeypatch.setattr(demo, "plan", lambda o, quick, skip_geo: (steps, where))
    args = argparse.Namespace(out=str(out), quick=True, skip_geo=True, overwrite=False)
    assert demo.run(args) == 0
    first = capsys.readouterr().out
    assert "expected: " in first.splitlines()[1]  # the expected duration comes before any step
    assert "a: done in" in first and "b: done in" in first
    times = json.loads((out / demo.TIMES_FILE).read_text())
    assert set(times) == {"a", "b"} and all(t["key"] == s.key() for t, s in zip(times.values(), steps))
    assert demo.run(args) == 0  # every step skipped
    again = capsys.readouterr().out
    assert again.count("finished earlier with the same command and inputs; skipped") == 2
    assert "took" in again and "when it ran" in again
    report = (out / "report.md").read_text()
    secs = {n: times[n]["seconds"] for n in times}
    for name in ("a", "b"):
        assert f"- {name}: {secs[name]:.0f} s (finished by an earlier run" in report
    assert f"the steps' work {secs['a'] + secs['b']:.0f} s" in report
    # a step whose command changed runs again: its old time is not shown as the new one's
    steps[:] = _steps(tmp_path, "full", "x")
    assert demo.earlier_seconds(times, steps) == {}


def _results(run, correct):
    run.mkdir(parents=True)
    rows = [{"id": f"q{i}", "correct": [c]} for i, c in enumerate(correct)]
    (run / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (run / "metrics.json").write_text(json.dumps({"accuracy": sum(correct) / len(correct), "n_items": len(correct)}))


def test_the_before_after_gain_is_a_paired_bootstrap_interval_over_items(tmp_path):
    from redstar_demo.report import gain_interval

    _results(tmp_path / "base", [False] * 40)
    _results(tmp_path / "trained", [True] * 30 + [False] * 10)
    d, lo, hi = gain_interval(tmp_path / "base", tmp_path / "trained")
    assert d == 0.75 and 0.55 < lo < 0.75 < hi < 0.95  # about 0.75 +- 1.96 * sqrt(0.75 * 0.25 / 40)
    # the same items right and wrong in both runs: no gain, an interval of exactly 0
    assert gain_interval(tmp_path / "trained", tmp_path / "trained") == (0.0, 0.0, 0.0)
    # one item flipped each way: the paired interval straddles 0
    _results(tmp_path / "mixed", [False] + [True] * 29 + [True] + [False] * 9)
    d, lo, hi = gain_interval(tmp_path / "trained", tmp_path / "mixed")
    assert d == 0.0 and lo < 0 < hi
    assert gain_interval(tmp_path / "base", tmp_path / "nothing") is None


def test_the_synthetic_leg_trains_the_tiny_model_from_scratch_and_scores_both_models_on_both_sets(tmp_path):
    from redstar_demo.demo import SYNTHETIC_ROWS

    assert SYNTHETIC_ROWS[False] == 1024  # the laptop sweep's largest random cell: 67% easy, 40% hard
    for quick in (False, True):
        steps, where = plan(tmp_path / "demo", quick=quick, skip_geo=True)
        by = {s.name: s for s in steps}
        names = [s.name for s in steps]
        # after the SmolLM2 legs, before nothing that reads it
        assert names[names.index("synthetic curate") :][:6] == [
            "synthetic curate",
            "synthetic sft",
            "eval base synthetic-easy",
            "eval base synthetic-hard",
            "eval trained synthetic-easy",
            "eval trained synthetic-hard",
        ]
        cur, sft = by["synthetic curate"], by["synthetic sft"]
        assert cur.argv[:2] == ["curate", "data_recipes/recipes/synthetic.yaml"] and cur.deps == ()
        assert sft.argv[:2] == ["sft", "configs/sft_synthetic_tiny.yaml"] and sft.deps == (cur,)
        leg = Path(demo._rel(where["synthetic_sft"])).parent
        assert f"data.train=[{leg / 'curate' / 'sft.jsonl'}]" in sft.argv and f"out={leg / 'sft'}" in sft.argv
        assert f"data.max_rows={SYNTHETIC_ROWS[quick]}" in sft.argv
        assert sft.done == leg / "sft" / "final" / "config.json"
        for label in ("base", "trained"):
            for bench in ("synthetic-easy", "synthetic-hard"):
                step = by[f"eval {label} {bench}"]
                argv = step.argv
                assert argv[argv.index("--benchmark") + 1] == "math500"
                assert argv[argv.index("--data") + 1] == f"data_recipes/synthetic/data/eval_{bench[10:]}.jsonl"
                assert argv[argv.index("--prompt") + 1] == "data_recipes/synthetic/prompt.txt"
                assert "--limit" not in argv  # the whole held-out set, quick or not
                model = argv[argv.index("--model") + 1]
                if label == "base":  # the random start the training begins from
                    assert model == "data_recipes/synthetic/data/model" and step.deps == ()
                else:
                    assert model == str(sft.done.parent) and step.deps == (cur, sft)
                assert step.env == {"OMP_NUM_THREADS": "1"} and step.command().startswith(
                    "OMP_NUM_THREADS=1 redstar eval"
                )
        # the SmolLM2 legs stay, as the real-model path
        assert {"curate", "sft", "dpo", "eval trained math-hard"} <= set(by)


def test_a_step_runs_with_its_environment_and_shows_it_in_its_command(tmp_path):
    base = Step("a", [str(tmp_path / "a"), "x"], tmp_path / "a" / "result.json", module="tests.redstar_demo.fake_step")
    one = Step(
        "a",
        [str(tmp_path / "a"), "x"],
        tmp_path / "a" / "result.json",
        module="tests.redstar_demo.fake_step",
        env={"OMP_NUM_THREADS": "1"},
    )
    assert one.command() == "OMP_NUM_THREADS=1 " + base.command() and one.key() != base.key()
    (tmp_path / "logs").mkdir()
    assert one.run(tmp_path / "logs", 1, 1, {}) is not None
    assert json.loads((tmp_path / "a" / "env.json").read_text())["OMP_NUM_THREADS"] == "1"


def test_the_report_writes_the_before_after_rows_as_data_with_the_synthetic_gain(tmp_path):
    out = tmp_path / "demo"
    steps, where = plan(out, quick=False, skip_geo=True)
    for bench, base_ok, trained_ok in (("synthetic-easy", 0, 30), ("synthetic-hard", 2, 3), ("math-hard", 1, 1)):
        _results(where["eval"] / "base" / bench, [True] * base_ok + [False] * (40 - base_ok))
        _results(where["eval"] / "trained" / bench, [True] * trained_ok + [False] * (40 - trained_ok))
    text = write_report(out, steps, where, {s.name: None for s in steps} | {"total": 1.0}).read_text()
    assert "| synthetic-easy | 40 | 0.0% | 75.0% | +75.0 [" in text
    assert text.count("(excludes 0) |") == 1  # the hard set's +2.5 and math-hard's 0 do not
    assert "toy world" in text
    rows = json.loads((out / "before_after.json").read_text())["rows"]
    assert [r["benchmark"] for r in rows] == ["math-hard", "synthetic-easy", "synthetic-hard"]
    easy, hard = rows[1], rows[2]
    assert easy["n_items"] == 40 and easy["base"] == 0.0 and easy["trained"] == 0.75 and easy["gain"] == 0.75
    assert 0 < easy["ci_low"] < 0.75 < easy["ci_high"] and easy["excludes_zero"] is True
    assert hard["gain"] == 0.025 and hard["ci_low"] <= 0 and hard["excludes_zero"] is False
    assert rows[0]["gain"] == 0.0 and rows[0]["excludes_zero"] is False

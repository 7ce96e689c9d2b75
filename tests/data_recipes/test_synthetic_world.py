"""The synthetic digit-chain world: problems and gold answers, the noisy teacher, the eval rows
in the MATH format, the world's tokenizer, and the shipped files being what the builder writes."""

import json
import random
from pathlib import Path

import pytest

from data_recipes.synthetic import build as world_build
from data_recipes.synthetic.world import (
    LABELS,
    TeacherNoise,
    apply,
    chain_of_thought,
    eval_rows,
    make_problems,
    parse,
    solve,
    teacher_response,
    teacher_rows,
)
from redstar.verify import grade

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "data_recipes" / "synthetic" / "data"


def test_gold_answers_follow_the_chain_and_difficulty_is_the_step_count():
    assert apply(7, 5) == 2 and apply(9, 1) == 0 and apply(0, 3) == 3
    problems = make_problems(80, seed=3)
    assert len({p["question"] for p in problems}) == 80
    for p in problems:
        start, addends = parse(p)
        v = start
        for d in addends:
            assert d in (1, 2, 3)
            v = (v + d) % 10
        assert p["answer"] == str(v) == str(solve(start, addends)[-1])
        n = len(addends)
        assert p["difficulty"] == n and f" {LABELS[n - 1]}+{addends[-1]}. " in p["question"]
        assert n == len(LABELS) or f" {LABELS[n]}+" not in p["question"]
    assert {p["difficulty"] for p in problems} == set(range(1, 9))


def test_problems_of_another_split_are_never_drawn_and_bad_levels_are_refused():
    held = make_problems(30, seed=1, levels=(2,))
    pool = make_problems(50, seed=2, levels=(2,), exclude={p["question"] for p in held})
    assert not {p["question"] for p in held} & {p["question"] for p in pool}
    with pytest.raises(ValueError, match="levels must be step counts"):
        make_problems(5, seed=0, levels=(0, 9))
    with pytest.raises(ValueError, match="could not draw"):
        make_problems(31, seed=0, levels=(1,))  # only 30 one-step problems exist (10 starts x 3 addends)


def test_the_teacher_slips_truncates_and_forgets_the_box_at_its_rates_and_the_verifier_sees_it():
    problems = make_problems(1600, seed=5)
    rows = teacher_rows(problems, TeacherNoise(), seed=0)
    assert rows == teacher_rows(problems, TeacherNoise(), seed=0)  # the same seed, the same samples
    by_id = {p["id"]: p for p in problems}
    cut = [r for r in rows if r["finish_reasons"] == ["length"]]
    assert 0.03 < len(cut) / len(rows) < 0.07  # truncate = 0.05
    assert all("\\boxed" not in r["responses"][0] for r in cut)
    whole = [r for r in rows if r["finish_reasons"] == ["stop"]]
    no_box = [r for r in whole if "\\boxed" not in r["responses"][0]]
    assert 0.01 < len(no_box) / len(whole) < 0.05  # no_box = 0.03
    boxed = [r for r in whole if "\\boxed" in r["responses"][0]]
    verdicts = [grade(r["responses"][0], by_id[r["id"]]["answer"], question=by_id[r["id"]]["question"]) for r in boxed]
    wrong = [r for r, v in zip(boxed, verdicts) if not v.correct]
    # a slip at each step with p = 0.03 and always a wrong digit from there on (adding keeps
    # the difference): 1 - 0.97**n, about 0.13 over the pool's 4.5 steps on average
    assert 0.08 < len(wrong) / len(boxed) < 0.2
    level = {p["id"]: p["difficulty"] for p in problems}
    long_wrong = sum(level[r["id"]] >= 6 for r in wrong) / max(1, sum(level[r["id"]] >= 6 for r in boxed))
    short_wrong = sum(level[r["id"]] <= 3 for r in wrong) / max(1, sum(level[r["id"]] <= 3 for r in boxed))
    assert long_wrong > 2 * short_wrong  # longer chains fail more, as with a real teacher


def test_a_clean_chain_is_graded_right_and_a_slipped_one_wrong():
    p = make_problems(1, seed=9, levels=(5,))[0]
    start, addends = parse(p)
    n = len(addends)
    good = chain_of_thought(start, addends)
    assert good.startswith("<think>\n") and "</think>" in good and good.count("\n") == n + 4
    assert grade(good, p["answer"], question=p["question"]).correct
    slipped = chain_of_thought(start, addends, slip_at=n - 1, slip_by=3)
    assert not grade(slipped, p["answer"], question=p["question"]).correct
    text, reason = teacher_response(p, TeacherNoise(step_error=0, truncate=1.0, no_box=0), random.Random(0))
    assert reason == "length" and good.startswith(text) and len(text) < len(good)


def test_eval_rows_are_math_rows_that_the_eval_loader_reads_with_their_gold():
    from eval.loaders.math import load_math500

    problems = make_problems(12, seed=4, levels=(6, 7, 8))
    rows = eval_rows(problems)
    assert all(r["solution"].endswith(f"$\\boxed{{{r['answer']}}}$.") for r in rows)
    path = Path(__file__).parent / "_synthetic_eval.jsonl"
    try:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        items = load_math500(str(path)).items
    finally:
        path.unlink()
    assert [it.answer for it in items] == [p["answer"] for p in problems]
    assert [it.question for it in items] == [p["question"] for p in problems]
    assert {it.meta["level"] for it in items} == {"Level 6", "Level 7", "Level 8"}


def test_the_world_tokenizer_splits_digits_keeps_think_tags_and_round_trips():
    from redstar.models import load_tokenizer

    tok = load_tokenizer(str(SHIPPED / "model"))
    p = make_problems(1, seed=2, levels=(8,))[0]
    start, addends = parse(p)
    messages = [
        {"role": "user", "content": p["question"] + "\n\n" + world_build.SUFFIX},
        {"role": "assistant", "content": chain_of_thought(start, addends)},
    ]
    text = tok.apply_chat_template(messages, tokenize=False)
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == text  # <think> and the answer survive decoding
    pieces = tok.convert_ids_to_tokens(ids)
    for word in ("<think>", "</think>"):
        assert word in pieces, word
    assert all(len(t.lstrip("Ġ")) == 1 for t in pieces if t.lstrip("Ġ").isdigit())
    assert "<|im_start|>assistant" in text and len(ids) < 200


def test_the_shipped_world_is_what_the_builder_writes(tmp_path):
    info = world_build.build(tmp_path, model=True)
    assert info == {"problems": 1800, "eval_easy": 100, "eval_hard": 100, "model": str(tmp_path / "model")}
    for name in ("problems.jsonl", "teacher.jsonl", "eval_easy.jsonl", "eval_hard.jsonl"):
        assert (tmp_path / name).read_bytes() == (SHIPPED / name).read_bytes(), name
    for name in ("tokenizer.json", "config.json", "model.safetensors"):
        assert (tmp_path / "model" / name).read_bytes() == (SHIPPED / "model" / name).read_bytes(), name
    held = {json.loads(line)["problem"] for f in ("eval_easy.jsonl", "eval_hard.jsonl") for line in open(SHIPPED / f)}
    assert not held & {json.loads(line)["question"] for line in open(SHIPPED / "problems.jsonl")}


def test_the_shipped_curated_rows_are_what_the_recipe_makes(tmp_path):
    from redstar.cli import main

    out = tmp_path / "cur"
    assert main(["curate", str(ROOT / "data_recipes/recipes/synthetic.yaml"), "--out", str(out), "--no-progress"]) == 0
    for name in ("sft.jsonl", "samples.jsonl"):
        assert (out / name).read_bytes() == (SHIPPED / "curated" / name).read_bytes(), name
    funnel = json.loads((out / "funnel.json").read_text())["funnel"]
    # the verifier and the filters did real work on the teacher's samples
    assert funnel["verify"]["dropped"]["incorrect"] > 100 and funnel["truncation"]["dropped"]["truncated"] > 50


def test_the_builder_refuses_bad_sizes(capsys):
    with pytest.raises(SystemExit):
        world_build.main(["--pool", "3"])
    assert "--pool must be >= 8" in capsys.readouterr().err

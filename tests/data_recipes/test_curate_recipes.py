"""The recipe variants on small real-shaped pools: Collinear curators, AceMath cross-check,
GeoQA with images, TACO code with tests, model-scored difficulty with more samples when harder."""

import json
from pathlib import Path

from data_recipes.curators import binary_metrics
from redstar.cli import main
from tests.data_recipes.curate_fixtures import write_jsonl
from tests.geo_code_inputs import CODE_RIGHT, CODE_WRONG, GEO_WRONG, write_geo_code_inputs


def _rows(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def _recipe(tmp_path, body: str) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text("# schema: data_recipes.recipe:Recipe\n" + body)
    return path


def _curate(recipe: Path, out: Path) -> dict:
    """`redstar curate` of ``recipe`` into ``out`` (it must succeed); its funnel.json."""
    assert main(["curate", str(recipe), "--out", str(out)]) == 0
    return json.loads((out / "funnel.json").read_text())


def test_collinear_curators_metrics_and_control(tmp_path):
    # 12 stored R1 answers: even i right, odd i wrong; C1 says yes except i=0 and i=3; C2 says yes to all
    rows, scores, judge = [], [], []
    for i in range(12):
        gold = str(10 + i)
        resp = f"<think>compute</think> so \\boxed{{{gold if i % 2 == 0 else 99}}}"
        rows.append(
            {
                "problem": f"What is {i} plus ten, written as a whole number in base ten notation {i}?",
                "solution": f"$\\boxed{{{gold}}}$",
                "source": "numina",
                "R1-Distill-Qwen-32B": resp,
                "R1-Distill-Qwen-32B-messages": [],
                "correctness": json.dumps({"C1": 0 if i in (0, 3) else 1, "C2": 1}),
            }
        )
        sid = f"col:{i}#r1#0"
        scores.append(
            {"id": sid, "problem_id": f"col:{i}", "response": resp, "scores": {"rm": 1.0 if i != 4 else -1.0}}
        )
        judge.append({"id": sid, "responses": ['{"output": 1}' if i != 6 else "I think it is fine"]})
    write_jsonl(tmp_path / "col.jsonl", rows)
    write_jsonl(tmp_path / "rm_scores.jsonl", scores)
    write_jsonl(tmp_path / "judge.jsonl", judge)
    recipe = _recipe(
        tmp_path,
        """
name: collinear_test
sources: [{path: col.jsonl, preset: collinear, name: col}]
decontam: {enabled: false}
difficulty: {method: none}
sampling: {teachers: [{name: r1, backend: {backend: inline}, n: 1}]}
curators:
  enabled: true
  combine: all
  judges:
    - {name: c1, kind: column, column: correctness.C1}
    - {name: c2, kind: column, column: correctness.C2}
    - {name: rm, kind: rm, scores_file: rm_scores.jsonl, threshold: 0.0}
    - {name: veritas, kind: llm, backend: {backend: replay, path: judge.jsonl}, prompt_file: pkg:prompts/judge_binary.txt}
export: {sft_per_prompt: 1}
run: {progress: false, chunk_size: 5}
""",
    )
    out = tmp_path / "out"
    summary = _curate(recipe, out)
    labels = [int(i % 2 == 0) for i in range(12)]
    votes = {
        "c1": [0 if i in (0, 3) else 1 for i in range(12)],
        "c2": [1] * 12,
        "rm": [0 if i == 4 else 1 for i in range(12)],
        "veritas": [0 if i == 6 else 1 for i in range(12)],
    }
    ensemble = [int(all(v[i] for v in votes.values())) for i in range(12)]
    for name, v in votes.items():
        assert summary["curators"][name] == binary_metrics(v, labels), name
    assert summary["curators"]["ensemble"] == binary_metrics(ensemble, labels)
    assert summary["curators"]["c2"]["fpr"] == 1.0 and summary["curators"]["ensemble"]["fpr"] == round(5 / 6, 4)
    # SFT keeps the verified samples every curator accepted: i in {2, 8, 10}
    sft = _rows(out / "sft.jsonl")
    assert sorted(r["messages"][-1]["content"] for r in sft) == sorted(
        rows[i]["R1-Distill-Qwen-32B"] for i in (2, 8, 10)
    )
    control = _rows(out / "subsets" / "curated_control.jsonl")
    assert len(control) == len(sft) == 3
    assert summary["funnel"]["curators"]["dropped"] == {"rejected by curators": 3}
    assert "| ensemble |" in (out / "report.md").read_text()


def test_acemath_crosscheck(tmp_path):
    probs = [
        {
            "id": f"q{i}",
            "question": f"Compute {i} times {i} and report the product as an integer {i}.",
            "answer": str(i * i),
        }
        for i in range(1, 5)
    ]
    probs.append({"id": "s5", "question": "A synthetic prompt without a reference answer: compute 5 times 5."})
    write_jsonl(tmp_path / "p.jsonl", probs)
    a = {
        "s5": ["\\boxed{25}", "The product is \\boxed{25.0}"],  # no gold: the consensus labels it
        "q1": ["\\boxed{1}", "\\boxed{1}"],  # agree, B matches -> kept
        "q2": ["\\boxed{4}", "\\boxed{5}"],  # A disagrees -> dropped
        "q3": ["\\boxed{9}", "\\boxed{9}"],  # B mismatch -> dropped
        "q4": ["\\boxed{16}", "\\boxed{16}"],
    }  # kept
    b = {"s5": ["\\boxed{25}"], "q1": ["\\boxed{1}"], "q2": ["\\boxed{4}"], "q3": ["\\boxed{8}"], "q4": ["\\boxed{16}"]}
    write_jsonl(tmp_path / "a.jsonl", [{"id": k, "responses": v} for k, v in a.items()])
    write_jsonl(tmp_path / "b.jsonl", [{"id": k, "responses": v} for k, v in b.items()])
    recipe = _recipe(
        tmp_path,
        """
name: xcheck
sources: [{path: p.jsonl, require_answer: false}]
decontam: {enabled: false}
sampling:
  teachers:
    - {name: a, backend: {backend: replay, path: a.jsonl}, n: 2}
    - {name: b, backend: {backend: replay, path: b.jsonl}, n: 1}
crosscheck: {enabled: true, teacher_a: a, teacher_b: b}
filters: {dedup_responses: false}
export: {sft_per_prompt: 1}
run: {progress: false}
""",
    )
    out = tmp_path / "out"
    f = _curate(recipe, out)["funnel"]
    assert f["crosscheck"]["dropped"] == {"crosscheck: a_disagree": 3, "crosscheck: b_mismatch": 3}
    sft = _rows(out / "sft.jsonl")
    assert sorted(r["messages"][-1]["content"] for r in sft) == ["\\boxed{16}", "\\boxed{1}", "\\boxed{25}"]
    # prompts whose answers the teachers could not agree on get no RL label either
    assert sorted(r["label"]["answer"] for r in _rows(out / "rl_prompts.jsonl")) == ["1", "16", "25"]
    s5 = [s for s in _rows(out / "samples.jsonl") if s["problem_id"] == "s5"]
    assert [s["verdict"]["correct"] for s in s5] == [True, True, True]
    assert {s["verdict"]["reason"] for s in s5} == {"crosscheck consensus"}
    # a cross-check that names a teacher the recipe lacks is a config error
    assert main(["curate", str(recipe), "--out", str(tmp_path / "o2"), "crosscheck.teacher_b=c"]) == 2


def test_geoqa_images_and_taco_code(tmp_path):
    recipe = write_geo_code_inputs(tmp_path, missing_image=True)
    out = tmp_path / "out"
    f = _curate(recipe, out)["funnel"]
    assert f["load"]["dropped"] == {"missing image": 1}
    sft = _rows(out / "sft.jsonl")
    assert len(sft) == 2
    geo = next(r for r in sft if r["images"])
    assert geo["messages"][-1]["content"].endswith("\\boxed{C}")
    assert (out / geo["images"][0]).resolve() == (tmp_path / "test" / "0.png").resolve()
    code = next(r for r in sft if not r["images"])
    assert code["messages"][-1]["content"] == CODE_RIGHT
    pref = _rows(out / "preferences.jsonl")
    assert {p["rejected"][0]["content"] for p in pref} == {CODE_WRONG, GEO_WRONG}
    rl = {r["datasource"]: r["label"] for r in _rows(out / "rl_prompts.jsonl")}
    assert rl["geoqa"]["kind"] == "choice" and rl["geoqa"]["answer"] == "C"
    assert rl["taco"]["kind"] == "code" and rl["taco"]["tests"]["outputs"] == ["3\n", "12\n"]


def test_model_difficulty_filter_and_samples_per_level(tmp_path):
    probs = [
        {
            "id": f"d{i}",
            "question": f"Problem number {i}: find the value of {i} squared plus one.",
            "answer": str(i * i + 1),
        }
        for i in range(4)
    ]
    write_jsonl(tmp_path / "p.jsonl", probs)
    levels = {"d0": "This looks like level 2.", "d1": "Level: 7", "d2": "9", "d3": "cannot tell"}
    write_jsonl(tmp_path / "levels.jsonl", [{"id": k, "responses": [v]} for k, v in levels.items()])
    write_jsonl(
        tmp_path / "resp.jsonl",
        [{"id": p["id"], "responses": [f"v{j} \\boxed{{{p['answer']}}}" for j in range(6)]} for p in probs],
    )
    recipe = _recipe(
        tmp_path,
        """
name: levels
sources: [{path: p.jsonl}]
decontam: {enabled: false}
difficulty:
  method: model
  scorer: {backend: replay, path: levels.jsonl}
  prompt_file: pkg:prompts/difficulty.txt
  min_level: 7
  keep_unscored: false
sampling:
  teachers: [{name: t, backend: {backend: replay, path: resp.jsonl}, n: 2}]
  n_by_level: {"7": 4, "9": 6}
export: {sft_per_prompt: null}
run: {progress: false}
""",
    )
    out = tmp_path / "out"
    f = _curate(recipe, out)["funnel"]
    assert f["difficulty"]["dropped"] == {"level < 7": 1, "no difficulty level": 1}
    samples = _rows(out / "samples.jsonl")
    per = {}
    for s in samples:
        per[s["problem_id"]] = per.get(s["problem_id"], 0) + 1
    assert per == {"d1": 4, "d2": 6}
    assert f["sampling"]["by_level"] == {"7": [1, 1], "9": [1, 1]}


def test_hf_teacher_with_recipe_chat_template(tmp_path):
    """A tiny random model samples through the transformers backend with the recipe's chat
    template (a file): the prompts it sees are rendered by that template."""
    from data_recipes.recipe import load_recipe
    from data_recipes.sampling import Backends, sample_chunk
    from redstar.models import tiny_causal_lm

    model, tok = tiny_causal_lm()
    model.save_pretrained(tmp_path / "tiny")
    tok.save_pretrained(tmp_path / "tiny")
    (tmp_path / "tmpl.jinja").write_text(
        "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}[assistant] {% endif %}"
    )
    write_jsonl(tmp_path / "p.jsonl", [{"id": "a", "question": "What is 2 + 2?", "answer": "4"}])
    recipe = load_recipe(
        str(
            _recipe(
                tmp_path,
                f"""
name: hf_template
sources: [{{path: p.jsonl}}]
sampling:
  teachers:
    - name: tiny
      backend: {{backend: hf, model: {tmp_path / "tiny"}, chat_template: tmpl.jinja, options: {{batch_size: 2}}}}
      n: 2
      max_new_tokens: 4
  system_prompt: "Think."
run: {{progress: false}}
""",
            )
        )
    )
    backends = Backends(recipe)
    samples = sample_chunk([{"id": "a", "question": "What is 2 + 2?", "domain": "math"}], recipe, backends, 0)
    backend = backends.get(recipe.sampling.teachers[0].backend)
    rendered = backend.tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], add_generation_prompt=True, tokenize=False
    )
    assert rendered == "[user] hi\n[assistant] "
    assert [s["id"] for s in samples] == ["a#tiny#0", "a#tiny#1"] and all(
        isinstance(s["response"], str) for s in samples
    )
    backends.close()


def test_pass_rate_difficulty(tmp_path):
    probs = [
        {"id": "easy", "question": "What is one plus one, as a number?", "answer": "2"},
        {"id": "hard", "question": "What is the hundredth prime number?", "answer": "541"},
        {"id": "mid", "question": "What is seven times eight?", "answer": "56"},
    ]
    write_jsonl(tmp_path / "p.jsonl", probs)
    scorer = {
        "easy": ["\\boxed{2}"] * 4,
        "hard": ["\\boxed{1}", "\\boxed{2}", "\\boxed{3}", "\\boxed{5}"],
        "mid": ["\\boxed{56}", "\\boxed{54}", "\\boxed{56}", "\\boxed{65}"],
    }
    write_jsonl(tmp_path / "k.jsonl", [{"id": k, "responses": v} for k, v in scorer.items()])
    write_jsonl(tmp_path / "resp.jsonl", [{"id": p["id"], "responses": [f"\\boxed{{{p['answer']}}}"]} for p in probs])
    recipe = _recipe(
        tmp_path,
        """
name: passrate
sources: [{path: p.jsonl}]
decontam: {enabled: false}
difficulty: {method: pass_rate, k: 4, scorer: {backend: replay, path: k.jsonl}, min_level: 5}
sampling: {teachers: [{name: t, backend: {backend: replay, path: resp.jsonl}, n: 1}]}
run: {progress: false}
""",
    )
    out = tmp_path / "out"
    _curate(recipe, out)
    levels = {
        p["id"]: (p["difficulty"], p["meta"]["pass_rate"]) for p in _rows(out / "chunks" / "00000.problems.jsonl")
    }
    assert levels == {"easy": (1.0, 1.0), "hard": (10.0, 0.0), "mid": (5.5, 0.5)}  # 1 + 9 * (1 - pass rate)
    assert sorted(s["problem_id"] for s in _rows(out / "samples.jsonl")) == ["hard", "mid"]

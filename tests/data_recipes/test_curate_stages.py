"""Stage functions on literal inputs, checked against references computed another way."""

import itertools
import random

import pytest

from data_recipes.crosscheck import crosscheck
from data_recipes.curators import binary_metrics, combine, parse_verdict
from data_recipes.decontam import Decontaminator
from data_recipes.dedup import Deduper, jaccard
from data_recipes.difficulty import level_drop, parse_level, pass_rate_level
from data_recipes.filters import apply_filters, first_failure, foreign_ratio, is_repetitive, think_format_ok
from data_recipes.recipe import CrossCheckConfig, DecontamConfig, DedupConfig, DifficultyConfig, FilterConfig
from data_recipes.sampling import n_for_level
from data_recipes.text import lcs_len, normalize


def lcs_brute(a, b):
    """Reference: the longest common subsequence by trying subsequences of the shorter list."""
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    for k in range(len(short), 0, -1):
        for idx in itertools.combinations(range(len(short)), k):
            sub = [short[i] for i in idx]
            it = iter(long_)
            if all(x in it for x in sub):
                return k
    return 0


def test_lcs_matches_brute_force():
    rng = random.Random(0)
    for _ in range(60):
        a = [rng.choice("abcd") for _ in range(rng.randint(0, 8))]
        b = [rng.choice("abcd") for _ in range(rng.randint(0, 8))]
        assert lcs_len(a, b) == lcs_brute(a, b), (a, b)


def test_normalize_strips_punctuation_and_case():
    assert normalize("  What is $2+2$?\nAnswer:  FOUR. ") == "what is 2 2 answer four"


def _deco(items, **kw):
    return Decontaminator([("bench", str(i), q) for i, q in enumerate(items)], **kw)


BENCH_Q = "Let f of x equal three x squared minus five and compute the value of f of f of one by substituting carefully"


def test_decontam_planted_copy_records_item():
    dc = _deco(["an unrelated question about circles and their areas", BENCH_Q])
    hit = dc.check({"question": "Please solve: " + BENCH_Q.upper() + "!", "domain": "math"})
    assert hit is not None and hit["benchmark"] == "bench" and hit["item_id"] == "1"
    assert hit["lcs_ratio"] > 0.6 and hit["ngram_hits"] >= 1


def test_decontam_math_needs_lcs_but_code_does_not():
    shared = " ".join(BENCH_Q.split()[:13])  # exactly one 13-gram in common
    filler = " ".join(f"word{i}" for i in range(40))
    problem = {"question": shared + " " + filler}
    dc = _deco([BENCH_Q])
    assert dc.check(dict(problem, domain="math")) is None  # LCS 13/53 < 60%
    assert dc.check(dict(problem, domain="code")) is not None  # n-gram alone
    assert _deco([BENCH_Q], math_rule="ngram").check(dict(problem, domain="math")) is not None
    # 12 shared words are no 13-gram
    assert dc.check({"question": " ".join(BENCH_Q.split()[:12]) + " " + filler, "domain": "code"}) is None


def test_decontam_short_benchmark_item_contained_whole():
    dc = _deco(["What is 7 times 8?"], n=13)
    assert dc.check({"question": "what is 7 times 8", "domain": "math"}) is not None
    assert dc.check({"question": "Compute: what is 7 times 8?", "domain": "code"}) is not None
    assert dc.check({"question": "what is 7 times 9", "domain": "math"}) is None


def test_dedup_exact_and_near():
    base = (
        "A shop packs apples into 3 boxes with 7 apples in each box and the clerk counts all the "
        "apples on the shelf at the end of the day. How many apples are there in total?"
    )
    near = base.replace("the clerk counts", "the clerk then counts")
    other = (
        "Find the number of ordered pairs of positive integers whose product equals one hundred and whose sum is odd."
    )
    assert jaccard(base, near) > 0.75 and jaccard(base, other) < 0.1
    dd = Deduper(DedupConfig(threshold=0.7))
    assert dd.check({"id": "a", "question": base}) is None
    assert dd.check({"id": "b", "question": base.upper() + " "}) == ("exact duplicate", "a")
    assert dd.check({"id": "c", "question": near}) == ("near duplicate", "a")
    assert dd.check({"id": "d", "question": other}) is None
    # near-dup off: only exact matches are caught
    dd = Deduper(DedupConfig(near=False))
    assert dd.check({"id": "a", "question": base}) is None
    assert dd.check({"id": "c", "question": near}) is None


def test_dedup_images_compared_by_bytes(tmp_path):
    (tmp_path / "1.png").write_bytes(b"one")
    (tmp_path / "2.png").write_bytes(b"two")
    (tmp_path / "3.png").write_bytes(b"one")
    dd = Deduper(DedupConfig())
    q = "As shown in the figure, find angle 1."
    assert dd.check({"id": "g1", "question": q, "images": [str(tmp_path / "1.png")]}) is None
    assert dd.check({"id": "g2", "question": q, "images": [str(tmp_path / "2.png")]}) is None
    assert dd.check({"id": "g3", "question": q, "images": [str(tmp_path / "3.png")]}) == ("exact duplicate", "g1")


def test_repetition_filter():
    normal = " ".join(
        f"Step {i}: we add {i} to the running total, which becomes {i * (i + 1) // 2}." for i in range(80)
    )
    loop = normal[:500] + " Wait, let me recount. " * 40
    assert not is_repetitive(normal)
    assert is_repetitive(loop)
    assert is_repetitive("abc " * 1000)


def test_language_and_think_format():
    assert foreign_ratio("The answer is 5.") == 0.0
    assert foreign_ratio("所以答案是五 answer") > 0.3
    assert think_format_ok("<think>reasoning</think>The answer is \\boxed{5}.")
    assert not think_format_ok("<think>reasoning</think>")  # nothing after it
    assert not think_format_ok("<think>a</think>b</think>c")  # two closings
    assert not think_format_ok("no tags at all")


def test_apply_filters_reports_each_failure():
    cfg = FilterConfig(max_response_words=10, think_tags=True, max_prompt_words=5)
    sample = {"response": "<think>一二三四五六七八九十</think>short", "verdict": {"extracted": None}}
    res = apply_filters(sample, {"question": "one two three four five six", "domain": "math"}, cfg, set())
    assert res == {
        "think_format": True,
        "length": True,
        "prompt_length": False,
        "language": False,
        "repetition": True,
        "answer": False,
        "duplicate": True,
    }
    assert first_failure(res) == "prompt_length"
    seen = set()
    ok = {"response": "We get \\boxed{4}.", "verdict": {"extracted": "4"}}
    cfg = FilterConfig()
    assert first_failure(apply_filters(ok, {"question": "q", "domain": "math"}, cfg, seen)) is None
    assert first_failure(apply_filters(ok, {"question": "q", "domain": "math"}, cfg, seen)) == "duplicate"
    code = {"response": "```python\nprint(1)\n```", "verdict": {"extracted": None}}
    assert apply_filters(code, {"question": "q", "domain": "code"}, cfg)["answer"] is True


def test_curator_rules_and_metrics_against_counting():
    assert combine([1, 1, 1], "all") and not combine([1, 0, 1], "all")
    assert combine([1, 0, 1], "majority") and not combine([1, 0, 0, 1], "majority")
    assert combine([0, 0, 1], "any") and not combine([0, 0, 0], "any")
    rng = random.Random(1)
    pred = [rng.randint(0, 1) for _ in range(200)]
    labels = [rng.randint(0, 1) for _ in range(200)]
    m = binary_metrics(pred, labels)
    pos = [p for p, y in zip(pred, labels) if y == 1]
    neg = [p for p, y in zip(pred, labels) if y == 0]
    accepted = [y for p, y in zip(pred, labels) if p == 1]
    assert m["recall"] == round(sum(pos) / len(pos), 4)
    assert m["fpr"] == round(sum(neg) / len(neg), 4)
    assert m["specificity"] == round(1 - sum(neg) / len(neg), 4)
    assert m["precision"] == round(sum(accepted) / len(accepted), 4)
    assert m["tp"] + m["fp"] + m["tn"] + m["fn"] == 200


def test_parse_judge_verdicts():
    assert parse_verdict('Looks right. {"output": 1}') == 1
    assert parse_verdict('{"output": 1} then I changed my mind {"output": 0}') == 0
    assert parse_verdict('{"output": "1"}') == 1
    assert parse_verdict("The solution is correct.") == 0  # unparseable = reject
    assert parse_verdict('{"output": 1') == 0  # broken JSON = reject
    assert parse_verdict('{"verdict": 1}') == 0


def test_crosscheck_agree_disagree_mismatch():
    cfg = CrossCheckConfig(enabled=True, teacher_a="a", teacher_b="b")
    eq = lambda x, y: x.replace(" ", "") == y.replace(" ", "")  # noqa: E731
    s = lambda t, e: {"teacher": t, "verdict": {"extracted": e}}  # noqa: E731
    assert crosscheck([s("a", "12"), s("a", "1 2"), s("b", "12")], cfg, eq) == {"status": "agree", "answer": "12"}
    assert crosscheck([s("a", "12"), s("a", "13"), s("b", "12")], cfg, eq)["status"] == "a_disagree"
    assert crosscheck([s("a", "12"), s("a", "12"), s("b", "13")], cfg, eq)["status"] == "b_mismatch"
    assert crosscheck([s("a", "12"), s("a", None), s("b", "12")], cfg, eq)["status"] == "a_disagree"


def test_levels_and_samples_per_level():
    assert parse_level("I would say 7") == 7.0 and parse_level("Level: 10.") == 10.0
    assert parse_level("no idea") is None and parse_level("about 42") is None
    assert pass_rate_level(0, 4) == 10.0 and pass_rate_level(4, 4) == 1.0 and pass_rate_level(2, 4) == 5.5
    table = {"3": 4, "7": 10, "9": 16}
    assert [n_for_level(v, 2, table) for v in (None, 1, 3, 6.5, 7, 8, 9, 10)] == [2, 2, 4, 4, 10, 10, 16, 16]
    cfg = DifficultyConfig(min_level=7)
    assert level_drop({"difficulty": 6}, cfg) == "level < 7"
    assert level_drop({"difficulty": 7}, cfg) is None
    assert level_drop({"difficulty": None}, cfg) is None
    assert level_drop({"difficulty": None}, DifficultyConfig(min_level=7, keep_unscored=False)) == "no difficulty level"


@pytest.mark.parametrize("cfg", [DecontamConfig()])
def test_decontam_defaults_follow_acemath(cfg):
    assert cfg.ngram == 13 and cfg.lcs_ratio == 0.6 and cfg.math_rule == "ngram_and_lcs"


def test_shared_math_verdicts_equal_one_by_one_grading():
    """grade_samples grades each distinct (gold, extracted answer) once; the verdicts must be
    those of grading every sample on its own."""
    from data_recipes.recipe import Recipe
    from data_recipes.verification import grade_samples
    from redstar.verify import grade

    problems = {
        "a": {"id": "a", "question": "q", "answer": "\\frac{1}{2}", "domain": "math"},
        "b": {"id": "b", "question": "q", "answer": "C", "domain": "geo", "choices": ["1", "2", "3"]},
        "c": {"id": "c", "question": "q", "answer": "0.5", "domain": "math"},
    }
    texts = [
        "so \\boxed{0.5}",
        "thus \\boxed{\\frac12}",
        "so \\boxed{0.5}",
        "so \\boxed{2}",
        "no answer",
        "The answer is (C). \\boxed{C}",
        "\\boxed{A}",
    ]
    samples = [{"problem_id": pid, "response": t} for pid in "abc" for t in texts]
    got = grade_samples(samples, problems, Recipe())
    for s, v in zip(samples, got):
        p = problems[s["problem_id"]]
        kind = "choice" if p.get("choices") else "math"
        ref = grade(s["response"], p["answer"], kind=kind, choices=p.get("choices"))
        assert (v["correct"], v["extracted"], v["reason"]) == (ref.correct, ref.extracted, ref.reason), s

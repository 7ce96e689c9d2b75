"""The official scorers (eval/protocols) rule by rule, on responses written in the styles their
benchmarks see, and the CLI's --protocol official / both."""

from __future__ import annotations

import json

import eval_fixtures as fx
import pytest

from eval.items import EvalItem
from eval.protocols import gllava, lighteval, mathvista, qwen_math
from redstar.cli import main


def _item(answer, choices=None, **meta):
    return EvalItem(
        id="x", question="q", answer=answer, kind="choice" if choices else "math", choices=choices, meta=meta
    )


# ------------------------------------------------------------------------------ G-LLaVA


@pytest.mark.parametrize(
    "response, letter",
    [
        ("Angle CED = 140°.\nAnswer:D", "D"),
        ("Answer: D", None),  # a space after the colon: not rule 1
        ("Therefore, the correct answer is option B.", "B"),
        ("Thus option C is selected.", "C"),
        ("So the answer is option A.", "A"),
        ("Hence the answer is (B) 60°.", "B"),
        ("We compute it. The result is C.", "C"),  # rule 6: 'is X' in the last sentence
        ("The result is C", None),  # no full stop: no last sentence
        ("answer:a", None),  # case-sensitive
        ("Therefore, the answer is option E.", None),  # only A-D
        ("Answer:B. But the correct answer is option C.", "B"),  # rules in order, not positions
    ],
)
def test_gllava_rules(response, letter):
    assert gllava.extract_letter(response) == letter
    assert gllava.score(_item("B", ["1", "2", "3", "4"]), response)[1] == (letter == "B")


# ------------------------------------------------------------------------------ lighteval


@pytest.mark.parametrize(
    "response, gold, ok",
    [
        ("so $\\boxed{\\dfrac{1}{2}}$", "\\frac{1}{2}", True),
        ("\\boxed{0.5}", "\\frac12", True),  # 0.5 is rewritten, \frac12 fixed
        ("\\boxed{0.25}", "\\frac{1}{4}", False),  # no numeric comparison
        ("\\boxed{10^\\circ}", "10", True),
        ("\\boxed{12 \\text{ cm}}", "12", True),  # unit after '\text{ '
        ("\\boxed{12\\text{cm}}", "12", False),  # no space: not a unit
        ("\\boxed{x = 3}", "3", True),
        ("\\boxed{3} and later \\boxed{4", "3", True),  # the last box never closes: the one before? no:
    ],
)
def test_lighteval_normaliser(response, gold, ok):
    if response.endswith("\\boxed{4"):
        # rfind finds the unclosed last box, which reads as empty: wrong whatever came before
        assert lighteval.score(_item(gold), response) == (None, False)
        return
    assert lighteval.score(_item(gold), response)[1] is ok


def test_lighteval_matrix_rows_collapse_and_empty_is_wrong():
    gold = "\\begin{pmatrix} 1 \\\\ -2 \\end{pmatrix}"
    assert lighteval.normalize(f"\\boxed{{{gold}}}") == "\\begin{pmatrix}1\\-2\\end{pmatrix}"
    assert lighteval.score(_item(gold), "\\boxed{\\begin{pmatrix}1\\\\-2\\end{pmatrix}}")[1]
    assert lighteval.score(_item("3"), "") == (None, False)
    assert lighteval.score(_item("3"), "the answer is 3") == (None, False)  # no box, no answer


# ------------------------------------------------------------------------------ Qwen2.5-Math


@pytest.mark.parametrize(
    "response, pred",
    [
        ("so $\\boxed{\\frac{5}{6}}$.", "\\frac{5}{6}"),
        ("\\boxed{3.00}", "3"),  # a zero-only decimal part goes
        ("\\boxed{2.50}", "2.50"),  # other trailing zeros stay
        ("\\boxed{025}", "25"),  # digits lose leading zeros
        ("The answer is 12 cm.", "12"),
        ("We get 3, then 4, finally 1,234", "1234"),  # last number, commas removed
        ("\\boxed{x = 5}", "5"),
        ("\\boxed{twenty one}", "21"),
        ("\\boxed 7$ done", "7"),
        ("no numbers here", ""),
    ],
)
def test_qwen_extraction(response, pred):
    assert qwen_math.extract(response) == pred


@pytest.mark.parametrize(
    "pred, gold, ok",
    [
        ("25", "025", True),
        ("0.5", "50", True),  # percent rule: gold/100
        ("10001", "10000", True),  # relative tolerance 1e-4
        ("10002", "10000", False),
        ("\\frac{1}{2}", "0.5", True),  # symbolic -> numeric
        ("(1,2)", "(1, 2)", True),
        ("x=3", "3", True),
        ("B", "B", True),
        ("\\sqrt{2}", "2", False),
        ("", "3", False),
    ],
)
def test_qwen_math_equal(pred, gold, ok):
    assert qwen_math.math_equal(pred, gold) is ok


def test_qwen_gold_from_boxed_math_answer_and_aime_padding():
    assert qwen_math.score(_item("\\dfrac{5}{6}"), "\\boxed{\\frac{5}{6}}", benchmark="math500")[1]
    assert qwen_math.score(_item("025"), "so the total is 25", benchmark="aime24") == ("25", True)


# ------------------------------------------------------------------------------ MathVista

MC = {"question_type": "multi_choice", "answer_type": "text", "answer_text": "145°"}
CHOICES = ["135°", "140°", "145°", "150°"]


@pytest.mark.parametrize(
    "extraction, pred",
    [
        ("C", "145°"),
        ("(C) 145°", "145°"),
        ("145", "145°"),  # nearest text by edit distance
        ("", "135°"),  # empty still picks a choice: the first nearest
        ("E", "135°"),  # not a letter of these choices: nearest text
    ],
)
def test_mathvista_multi_choice_normalisation(extraction, pred):
    got, ok = mathvista.score(_item("C", CHOICES, **MC), "resp", extraction=extraction)
    assert got == pred and ok is (pred == "145°")


@pytest.mark.parametrize(
    "extraction, atype, precision, gold, ok",
    [
        ("2.9", "integer", None, "2", True),  # truncation, not rounding
        ("3", "integer", None, "3", True),
        ("x", "integer", None, "3", False),
        ("1.414", "float", 2, "1.41", True),
        ("2.675", "float", 2, "2.67", True),  # Python round on the binary value
        ("1.5", "float", 2, "1.50", False),  # gold with a trailing zero never matches
        ("[1, 2]", "list", None, "[1, 2]", True),
    ],
)
def test_mathvista_free_form_normalisation(extraction, atype, precision, gold, ok):
    item = _item(gold, question_type="free_form", answer_type=atype, precision=precision, answer_text=gold)
    assert mathvista.score(item, "resp", extraction=extraction)[1] is ok


def test_mathvista_quick_extraction_without_a_judge():
    f = mathvista.item_fields(_item("C", CHOICES, **MC))
    assert mathvista.quick_extract("145°", f) == "145°"  # a choice text, whole
    assert mathvista.quick_extract('So. The answer is "B".', f) == "B"
    assert mathvista.quick_extract('So. The answer is "B".', f, quoted=False) is None  # the judge's job
    assert mathvista.quick_extract("It is C.", f) is None
    fi = mathvista.item_fields(_item("3", question_type="free_form", answer_type="integer", answer_text="3"))
    assert mathvista.quick_extract(" 3 ", fi) == "3"  # int() reads it


def test_mathvista_judge_prompt_is_the_official_few_shot_prompt():
    f = mathvista.item_fields(_item("C", CHOICES, **MC, query="Hint: pick.\nQuestion: angle?"))
    prompt = mathvista.judge_prompt("It is (C).", f)
    assert prompt.startswith("Please read the following example.")
    assert prompt.endswith("Hint: pick.\nQuestion: angle?\n\nIt is (C).\n\nExtracted answer: ")
    assert prompt.count("Extracted answer:") == 6


def test_edit_distance():
    assert mathvista.edit_distance("kitten", "sitting") == 3
    assert mathvista.edit_distance("", "abc") == 3


# ------------------------------------------------------------------------------ CLI


def _run(*argv):
    return main(["eval", *argv])


def test_protocol_both_on_geoqa_lists_differing_items(tmp_path, capsys):
    data = fx.geoqa(tmp_path / "geoqa")
    resp = fx.write_jsonl(
        tmp_path / "resp.jsonl",
        [
            # item 0 (gold D): both read D
            {"id": "0", "responses": ["angle CED = 180 - 40 = 140.\nAnswer:D"]},
            # item 1 (gold A): redstar reads the boxed letter; G-LLaVA's regexes find nothing
            {"id": "1", "responses": ["OC is a radius, so OC = 5. \\boxed{A}"]},
        ],
    )
    out = tmp_path / "out"
    assert fx.score_stored("geoqa", data, resp, out, "--protocol", "both") == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["protocol"] == "both" and m["accuracy"] == 1.0
    assert m["official"]["protocol"] == "g-llava" and m["official"]["accuracy"] == 0.5
    assert m["official"]["n_items_differ"] == 1 and m["official"]["items_differ"] == ["1"]
    rows = fx.read_results(out)
    assert rows["1"]["protocols_differ"] and not rows["0"]["protocols_differ"]
    assert rows["1"]["official"] == {"extracted": [None], "correct": [False]}
    report = (out / "report.md").read_text()
    assert "| accuracy (mean pass@1) | 100.0 | 50.0 |" in report and "Items graded differently: 1" in report
    assert "official (g-llava) 50.0%" in capsys.readouterr().out


def test_protocol_official_mathvista_uses_published_extractions(tmp_path):
    data = fx.mathvista_json(tmp_path / "mv")
    resp = fx.write_jsonl(
        tmp_path / "resp.jsonl",
        [
            {"id": "1", "responses": ["I think it is three.", "no idea"], "extracted": ["B", ""]},
            {"id": "2", "responses": ["AB = 2.46", "AB = 2.54"], "extracted": ["2.46", "2.54"]},
        ],
    )
    out = tmp_path / "out"
    assert fx.score_stored("mathvista-geo", data, resp, out, "--samples", "2", "--protocol", "official") == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["protocol"] == "official" and m["official"]["extraction"].startswith("published")
    rows = fx.read_results(out)
    # "" picks the nearest choice ("2", choices 2/3/4/5): wrong; 2.46 -> 2.5 right; 2.54 -> 2.5 right
    assert rows["1"]["correct"] == [True, False] and rows["1"]["extracted"] == ["3", "2"]
    assert rows["2"]["correct"] == [True, True]
    assert m["accuracy"] == pytest.approx(0.75)


def test_protocol_official_mathvista_without_published_extraction_uses_quick_rules(tmp_path):
    data = fx.mathvista_json(tmp_path / "mv")
    resp = fx.write_jsonl(
        tmp_path / "resp.jsonl",
        [
            {"id": "1", "responses": ['Thus. The answer is "B".']},
            {"id": "2", "responses": ["AB is 2.5 units long."]},  # no rule reads it: '' -> float fails
        ],
    )
    out = tmp_path / "out"
    assert fx.score_stored("mathvista-geo", data, resp, out, "--protocol", "official") == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["official"]["extraction"].startswith("quick rules")
    assert m["accuracy"] == 0.5


class _Judge:
    """A judge backend that answers from a table keyed by the response in the prompt."""

    name = "table"

    def __init__(self, table):
        self.table, self.prompts = table, []

    def generate(self, requests, cfg):
        outs = []
        for r in requests:
            text = r.messages[0]["content"]
            self.prompts.append(text)
            outs.append([next(v for k, v in self.table.items() if f"\n\n{k}\n\nExtracted answer: " in text)])
        return outs

    def close(self):
        pass


def test_mathvista_judge_is_asked_only_what_the_rules_do_not_read():
    from eval.protocols import score_official

    items = [_item("C", CHOICES, **MC)]
    responses = {"x": ["145°", "It must be the third one.", 'Done. The answer is "A".', "It must be the third one."]}
    judge = _Judge({"It must be the third one.": "C", 'Done. The answer is "A".': "C"})
    verdicts, info = score_official("mathvista-geo", items, responses, judge=judge, judge_name="table")
    # the choice text is taken whole; the quoted rule is off with a judge, so the judge reads it
    assert [v.correct for v in verdicts["x"]] == [True, True, True, True]  # the repeat is asked once
    assert len(judge.prompts) == 2 and info["extraction"] == "judge: table" and info["judged_responses"] == 2


def test_protocol_official_refuses_a_benchmark_without_a_published_scorer(tmp_path, capsys):
    data = fx.geometry3k(tmp_path / "g3k")
    assert (
        _run(
            "--benchmark",
            "geometry3k",
            "--data",
            str(data),
            "--responses",
            str(tmp_path / "r.jsonl"),
            "--out",
            str(tmp_path / "o"),
            "--protocol",
            "official",
        )
        != 0
    )
    assert "geometry3k has no published scorer" in capsys.readouterr().err


@pytest.mark.parametrize("pred", ["9^{9^{9}}", "9^{9^{9^{9}}}"])
def test_qwen_math_equal_times_out_as_wrong(pred):
    """A tower of powers keeps sympy / mpmath busy for hours, partly inside C code that no
    signal interrupts; the original grades each pair in a process pool with a 3 s limit, so
    the pair is wrong, counted as a timeout, and grading goes on."""
    import time

    qwen_math.math_equal_timed.cache_clear()
    before = qwen_math.math_equal_timed.timeouts
    assert qwen_math.math_equal_timed("2", "2") is True  # the helper is up (its start is not timed)
    t0 = time.monotonic()
    try:
        assert qwen_math.math_equal_timed(pred, "1", 1.0) is False
        assert qwen_math.math_equal_timed.timeouts == before + 1
        assert time.monotonic() - t0 < 10
        assert qwen_math.math_equal_timed("\\frac{1}{2}", "0.5") is True  # a fresh helper grades the next pair
    finally:
        qwen_math.math_equal_timed.cache_clear()


def test_mathvista_judge_through_an_openai_compatible_server(tmp_path):
    """--judge-model sends MathVista's extraction prompt to the server; its answers are the
    extractions, then normalised as the official scorer does."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    seen = []

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            prompt = body["messages"][0]["content"]
            seen.append((body["model"], body["temperature"], prompt))
            answer = "C" if "third choice" in prompt else "2.46"
            data = json.dumps(
                {"choices": [{"index": 0, "message": {"content": answer}, "finish_reason": "stop"}]}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(data)

    httpd = HTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        data = fx.mathvista_json(tmp_path / "mv")
        resp = fx.write_jsonl(
            tmp_path / "resp.jsonl",
            [
                {"id": "1", "responses": ["It is the third choice."]},  # choices 2/3/4/5: C = 4, gold 3
                {"id": "2", "responses": ["AB is about 2.46 long"]},  # -> 2.5 at precision 1: right
            ],
        )
        out = tmp_path / "out"
        assert (
            _run(
                "--benchmark",
                "mathvista-geo",
                "--data",
                str(data),
                "--responses",
                str(resp),
                "--out",
                str(out),
                "--workers",
                "1",
                "--protocol",
                "official",
                "--judge-model",
                "judge-x",
                "--judge-base-url",
                f"http://127.0.0.1:{httpd.server_port}/v1",
            )
            == 0
        )
    finally:
        httpd.shutdown()
    m = json.loads((out / "metrics.json").read_text())
    assert m["official"]["extraction"] == "judge: judge-x" and m["official"]["judged_responses"] == 2
    assert m["accuracy"] == 0.5
    assert {s[0] for s in seen} == {"judge-x"} and {s[1] for s in seen} == {0.0}
    assert all(s[2].startswith("Please read the following example.") for s in seen)
    rows = fx.read_results(out)
    assert rows["1"]["extracted"] == ["4"] and rows["2"]["extracted"] == ["2.5"]


def test_qwen_long_integers_grade_instead_of_raising():
    """Python 3.11 refuses int() of a 4,300+ digit string; the original (word2number's int of a
    digit string) ran on interpreters without that limit, so a long integer is still a number."""
    from eval.items import EvalItem

    big = "9" * 5000
    assert qwen_math.score(EvalItem(id="x", question="q", answer=big), f"\\boxed{{00{big}}}") == (big, True)
    assert qwen_math.score(EvalItem(id="x", question="q", answer="1"), f"\\boxed{{{big}}}")[1] is False


def test_a_response_the_official_scorer_raises_on_is_wrong_and_counted(monkeypatch):
    from eval.protocols import gllava, score_official

    real = gllava.score

    def fragile(item, response, extraction=None):
        if "boom" in response:
            raise RecursionError("deep")
        return real(item, response, extraction)

    monkeypatch.setattr(gllava, "score", fragile)
    items = [_item("A", CHOICES)]
    verdicts, info = score_official("geoqa", items, {"x": ["Answer:A", "boom", "Answer:B"]})
    assert [v.correct for v in verdicts["x"]] == [True, False, False] and info["errors"] == 1
    assert "RecursionError" in verdicts["x"][1].reason

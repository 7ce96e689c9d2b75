"""The rule reward, called exactly as OpenRLHF 0.11.2 calls it, on a mixed batch."""

import asyncio
import json
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import redstar.rl.reward as reward
from redstar.rl.reward import accuracy_by_datasource, decode_label, isolate_response, options_from_env, overlong_penalty

REWARD_FILE = Path(reward.__file__)


def _label(answer="", kind="math", datasource="math_hard", **kw):
    return json.dumps({"answer": answer, "kind": kind, "datasource": datasource, **kw})


# The mixed batch: (response, label, expected correctness, expected "an answer was found").
CODE_OK = "Read n and double it.\n```python\nn = int(input())\nprint(n * 2)\n```"
CODE_BAD = "```python\nprint(int(input()) + 2)\n```"
TESTS = {"inputs": ["3\n", "10\n"], "outputs": ["6\n", "20\n"]}
BATCH = [
    ("Adding, 1/2 + 1/4 = 3/4. The answer is \\boxed{\\frac{3}{4}}.", _label("\\frac{3}{4}"), 1.0, True),
    ("Hence \\boxed{0.75}", _label("\\frac34"), 1.0, True),
    ("So the result is \\boxed{5}.", _label("\\frac{3}{4}"), 0.0, True),
    ("I am not sure how to proceed with this problem at all.", _label("12"), 0.0, False),
    ("Angle ABC is 60°, so the answer is (B).", _label("B", "choice", "geoqa", choices=["40°", "60°"]), 1.0, True),
    ("The answer is A.", _label("B", "choice", "geoqa", choices=["40°", "60°"]), 0.0, True),
    (CODE_OK, _label(None, "code", "taco", tests=TESTS), 1.0, True),
    (CODE_BAD, _label(None, "code", "taco", tests=TESTS), 0.0, True),
]


def test_code_grader_runs():
    """The code items of the batch are graded, never dropped: a grader that raises (reported as
    'grader error') fails here and fails the batch tests below, which keep every item."""
    from redstar.verify import grade

    v = grade(CODE_OK, "", kind="code", tests=TESTS)
    assert "grader error" not in v.reason and v.correct, v.reason


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("REDSTAR_REWARD_WORKERS", "2")
    monkeypatch.setenv("REDSTAR_REWARD_TIMEOUT", "10")
    return monkeypatch


def _tok():
    from redstar.models import tiny_tokenizer

    return tiny_tokenizer()


class _Engine:
    """Stands in for vLLM: returns a fixed reply's token ids for whatever prompt it gets."""

    def __init__(self, tok, replies):
        self.tok, self.replies = tok, replies

    async def generate(self, prompt_token_ids, sampling_params, multi_modal_data=None):
        text = self.replies[len(prompt_token_ids)]  # prompts differ in length in these tests
        ids = self.tok(text + "<|im_end|>", add_special_tokens=False)["input_ids"]
        out = SimpleNamespace(token_ids=ids, text=text, finish_reason="stop", logprobs=None)
        return SimpleNamespace(outputs=[out])


def test_reward_func_through_openrlhf_executor_on_a_mixed_batch(env):
    """OpenRLHF loads the file by path, builds query = decode(prompt + response tokens) and calls
    reward_func([query], [prompt], [label]) once per rollout, many rollouts concurrently."""
    pytest.importorskip("openrlhf")
    pytest.importorskip("aiohttp")  # openrlhf.utils.agent imports it at the top
    from openrlhf.utils.agent import SingleTurnAgentExecutor

    batch = BATCH  # code items included: a raising code grader must fail this test
    tok = _tok()
    prompts, replies = [], {}
    for i, (response, *_rest) in enumerate(batch):
        chat = [{"role": "user", "content": "Question " + "?" * (i + 1)}]
        prompt = tok.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
        prompts.append(prompt)
        replies[len(tok(prompt, add_special_tokens=False)["input_ids"])] = response
    assert len(replies) == len(batch)
    engine = _Engine(tok, replies)
    executor = SingleTurnAgentExecutor(str(REWARD_FILE))
    params = SimpleNamespace(max_tokens=256, logprobs=None)

    async def rollouts():
        return await asyncio.gather(
            *[executor.execute(p, b[1], params, 1024, tok, engine) for p, b in zip(prompts, batch)]
        )

    outputs = asyncio.run(rollouts())
    import torch

    for out, (response, label, correct, found) in zip(outputs, batch):
        assert out["reward"] is not None, "reward_func raised inside OpenRLHF (it logs and drops the error)"
        # What samples_generator does with them: torch.tensor([value]) and logs' first element.
        assert torch.tensor([out["reward"]]).shape == (1,)
        assert float(out["scores"]) == correct, (response, label)
        assert float(out["reward"]) == correct  # no penalties configured
        logs = {k: v.flatten()[0].item() for k, v in out["extra_logs"].items()}
        assert logs["acc"] == correct and logs["format_ok"] == float(found) and logs["timed_out"] == 0.0


def test_penalties_and_datasource_accuracy_on_a_direct_batch(env):
    env.setenv("REDSTAR_REWARD_FORMAT_PENALTY", "0.5")
    env.setenv("REDSTAR_REWARD_OVERLONG_MAX", "40")
    env.setenv("REDSTAR_REWARD_OVERLONG_BUFFER", "20")
    env.setenv("REDSTAR_REWARD_DATASOURCES", "math_hard,geoqa,aime")
    batch = [b for b in BATCH if json.loads(b[1])["kind"] != "code"]
    queries = ["<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n" + r + "<|im_end|>" for r, *_ in batch]
    out = reward.reward_func(queries, [""] * len(batch), [b[1] for b in batch])
    logs = out["extra_logs"]
    # Every call carries the same keys (OpenRLHF concatenates them across samples).
    assert set(logs) == {
        "acc",
        "format_ok",
        "timed_out",
        "overlong_penalty",
        "response_length",
        "reward_error",
        "ds/math_hard/n",
        "ds/math_hard/correct",
        "ds/geoqa/n",
        "ds/geoqa/correct",
        "ds/aime/n",
        "ds/aime/correct",
    }
    for i, (response, _, correct, found) in enumerate(batch):
        length = len(response)
        pen = 0.0 if length <= 20 else (-1.0 if length >= 40 else -(length - 20) / 20)
        expect = correct - (0.0 if found else 0.5) + pen
        assert out["rewards"][i].item() == pytest.approx(expect), response
        assert out["scores"][i].item() == correct
    acc = accuracy_by_datasource(logs)
    assert acc["math_hard"] == pytest.approx(2 / 4) and acc["geoqa"] == pytest.approx(1 / 2)
    assert acc["aime"] != acc["aime"]  # no aime items: NaN, not a made-up 0


def test_no_reward_for_a_bare_trailing_number_unless_the_fallback_is_on(env):
    """A response that never states a final answer, only ends with the gold number, earns
    nothing by default; REDSTAR_REWARD_FALLBACK=1 restores the verifier's last-number fallback."""
    env.setenv("REDSTAR_REWARD_WORKERS", "0")
    env.setenv("REDSTAR_REWARD_FORMAT_PENALTY", "0.5")
    responses = ["He has 3 apples and buys 9 more, so 12", "So the answer is \\boxed{12}."]
    labels = [_label("12"), _label("12")]
    out = reward.reward_func(responses, [""] * 2, labels)
    assert out["scores"].tolist() == [0.0, 1.0]
    assert out["rewards"].tolist() == [-0.5, 1.0]  # no stated answer: the format penalty too
    env.setenv("REDSTAR_REWARD_FALLBACK", "1")
    out = reward.reward_func(responses, [""] * 2, labels)
    assert out["scores"].tolist() == [1.0, 1.0]
    hedged = ["Maybe 3 apples, or 7, or perhaps 12", "So 3 + 9 = 12"]  # a hedge, an equation's last number
    assert reward.reward_func(hedged, [""] * 2, labels)["scores"].tolist() == [0.0, 0.0]
    assert options_from_env({"REDSTAR_REWARD_FALLBACK": "off"}).fallback is False
    with pytest.raises(ValueError, match="REDSTAR_REWARD_FALLBACK"):
        options_from_env({"REDSTAR_REWARD_FALLBACK": "maybe"})
    assert reward.env_from_settings({"fallback": True}) == {"REDSTAR_REWARD_FALLBACK": "1"}


def test_a_truncated_response_never_gets_the_fallback(env):
    """With special tokens kept (OpenRLHF's queries), a response without an end-of-turn token
    stopped at the length limit: its last number is where the cut fell, not an answer."""
    env.setenv("REDSTAR_REWARD_WORKERS", "0")
    env.setenv("REDSTAR_REWARD_FALLBACK", "1")
    prompt = "<|im_start|>user\nTom has 3 apples and buys 4. How many?<|im_end|>\n<|im_start|>assistant\n"
    ended = prompt + "He has 3 + 4 apples, so 7<|im_end|>"
    cut = prompt + "He has 3 + 4 = 7 apples, and then if he gives away"[:24]  # "... = 7 apples, an"
    assert reward.finished(ended, prompt) is True and reward.finished(cut, prompt) is False
    assert reward.finished("3 + 4 = 7", "") is None  # decoded without special tokens: unknown
    out = reward.reward_func([ended, prompt + "He has 3 + 4 apples, so 7"], [prompt] * 2, [_label("7")] * 2)
    assert out["scores"].tolist() == [1.0, 0.0]


def test_isolate_response_handles_templates_and_expanded_image_tokens():
    prompt = "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Find x<|im_end|>\n<|im_start|>assistant\n"
    query = prompt.replace("<|image_pad|>", "<|image_pad|>" * 5) + "x = \\boxed{3}<|im_end|><|endoftext|>"
    assert isolate_response(query, prompt) == "x = \\boxed{3}"
    llama = "<|start_header_id|>user<|end_header_id|>\n\nq<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
    assert isolate_response(llama + "\\boxed{1}<|eot_id|>", "different prompt") == "\\boxed{1}"
    # A response that mentions an earlier turn's text keeps its own words.
    assert isolate_response("P: user says 2 A: the answer is 2</s>", "P: user says 2 A:") == "the answer is 2"


def test_labels_and_options_are_checked():
    assert decode_label("\\frac{1}{2}") == {"answer": "\\frac{1}{2}", "kind": "math", "datasource": "default"}
    assert decode_label({"answer": "B", "kind": "choice"})["kind"] == "choice"
    assert decode_label(_label("3", datasource="aime"))["datasource"] == "aime"
    with pytest.raises(ValueError, match="REDSTAR_REWARD_TIMEOUT"):
        options_from_env({"REDSTAR_REWARD_TIMEOUT": "soon"})
    with pytest.raises(ValueError, match="needs REDSTAR_REWARD_TOKENIZER"):
        options_from_env({"REDSTAR_REWARD_LENGTH_UNIT": "tokens"})
    assert options_from_env({"REDSTAR_REWARD_DATASOURCES": "a,b"}).datasources == ["a", "b"]


def test_overlong_penalty_matches_dapo_ramp():
    # DAPO: 0 if L <= Lmax - Lcache; (Lmax - Lcache - L) / Lcache inside the buffer; -1 beyond.
    for length in range(0, 130, 7):
        ref = 0.0 if length <= 80 else ((80 - length) / 20 if length <= 100 else -1.0)
        assert overlong_penalty(length, 100, 20) == pytest.approx(ref)
    assert overlong_penalty(10_000, 0, 0) == 0.0


def _hang(response, label, timeout):
    time.sleep(60)


def test_a_hanging_item_is_cut_off_and_the_pool_recovers(env):
    grader = reward._Grader(1, fn=_hang)
    grader._get_pool()  # start and warm the worker outside the clock
    t0 = time.monotonic()
    v = grader.grade("x", {"kind": "math"}, timeout=0.5)
    assert v["timed_out"] and not v["correct"]
    assert time.monotonic() - t0 < 0.5 + reward.GRACE_S + 1.0
    grader.fn = reward._grade_item
    assert grader.grade("\\boxed{2}", decode_label("2"), timeout=5.0)["correct"]


def test_reward_cli_scores_rows_offline(tmp_path, env, capsys):
    from redstar.cli import main

    batch = [b for b in BATCH if json.loads(b[1])["kind"] != "code"]
    src = tmp_path / "rollouts.jsonl"
    src.write_text(
        "".join(json.dumps({"query": "<|im_start|>assistant\n" + r, "label": lab}) + "\n" for r, lab, *_ in batch)
    )
    out = tmp_path / "scored.jsonl"
    assert main(["rl", "reward", "--input", str(src), "--output", str(out)]) == 0
    text = capsys.readouterr().out
    assert "accuracy 0.5000" in text and "math_hard: accuracy 0.5000" in text and "geoqa: accuracy 0.5000" in text
    scored = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["score"] for r in scored] == [b[2] for b in batch]
    src.write_text(json.dumps({"prompt": "p"}) + "\n")
    assert main(["rl", "reward", "--input", str(src)]) == 2
    assert "rollouts.jsonl:1:" in capsys.readouterr().err


# Conventions the shared verifier used to miss (its held-out set's first score); each now earns
# the reward, with the last-number fallback off as in RL by default.
PREVIOUSLY_MISSED = [
    ("<think>\nm/n = 17/187\n</think>\nSo $\\boxed{m+n = 204}$.", _label("204", datasource="aime")),
    ("The area is $\\boxed{12\\text{ cm}^2}$.", _label("12")),
    ("So $\\boxed{\\begin{pmatrix}1\\\\-2\\end{pmatrix}}$.", _label("\\begin{pmatrix} 1 \\\\ -2 \\end{pmatrix}")),
    ("She sold 48+24 = 72 clips.\n#### 72", _label("72", datasource="gsm8k")),
    ("The value of x is 60.", _label("60", datasource="mathvista")),
    ("C", _label("C", "choice", "geoqa", choices=["30°", "45°", "60°", "90°"])),
    ("The answer is D.", _label("18", "choice", "mathvista", choices=["6", "12", "18", "18"])),
]


def test_previously_missed_conventions_now_earn_reward(env):
    env.setenv("REDSTAR_REWARD_WORKERS", "0")
    responses, labels = [r for r, _ in PREVIOUSLY_MISSED], [lb for _, lb in PREVIOUSLY_MISSED]
    out = reward.reward_func(responses, [""] * len(responses), labels)
    assert out["scores"].tolist() == [1.0] * len(responses)
    wrong = ["So $\\boxed{m+n = 240}$.", "The area is $\\boxed{21\\text{ cm}^2}$."]
    out = reward.reward_func(wrong, [""] * 2, [PREVIOUSLY_MISSED[0][1], PREVIOUSLY_MISSED[1][1]])
    assert out["scores"].tolist() == [0.0, 0.0]


def test_reward_func_never_raises_a_failure_scores_zero_and_is_logged(env, caplog):
    """OpenRLHF 0.11.2 catches an exception from reward_func, logs it at INFO and later dies with
    "reward_model_group is required": a batch that cannot be scored scores 0, is counted in
    ``reward_error`` and logged at WARNING with its cause; the logs keep every key."""
    env.setenv("REDSTAR_REWARD_WORKERS", "0")
    env.setenv("REDSTAR_REWARD_DATASOURCES", "aime")
    before = reward.reward_failures()
    with caplog.at_level("WARNING", logger="redstar.reward"):
        out = reward.reward_func(["a", "b"], [""], [_label("1"), _label("2")])  # one prompt for two queries
    assert out["scores"].tolist() == [0.0, 0.0] and out["rewards"].tolist() == [0.0, 0.0]
    assert out["extra_logs"]["reward_error"].tolist() == [1.0, 1.0]
    good = reward.reward_func(["\\boxed{1}"], [""], [_label("1")])
    assert set(out["extra_logs"]) == set(good["extra_logs"]) and good["extra_logs"]["reward_error"].tolist() == [0.0]
    assert reward.reward_failures() == before + 2
    warned = [r for r in caplog.records if r.levelname == "WARNING"]
    assert warned and "ValueError" in warned[-1].getMessage() and "2 queries, 1 prompts" in warned[-1].getMessage()

    env.setenv("REDSTAR_REWARD_TIMEOUT", "not a number")  # a broken option: still no exception
    with caplog.at_level("WARNING", logger="redstar.reward"):
        out = reward.reward_func(["\\boxed{1}"], [""], [_label("1")])
    assert out["scores"].tolist() == [0.0] and "REDSTAR_REWARD_TIMEOUT" in caplog.records[-1].getMessage()


def test_no_reward_for_restating_the_question(env):
    """The default model's demo failure: "So, the final answer is $\\log_2 64$." for gold 6. The
    rendered prompt reaches the verifier as the question, so the echo earns nothing, while the
    honest "$\\log_2 64 = 6$" keeps its reward."""
    env.setenv("REDSTAR_REWARD_WORKERS", "0")
    prompt = "<|im_start|>user\nEvaluate $\\log_2 64$.<|im_end|>\n<|im_start|>assistant\n"
    replies = ["So, the final answer is $\\log_2 64$.", "$\\log_2 64 = 6$", "100 = 100 * 2 + 6"]
    out = reward.reward_func([prompt + r + "<|im_end|>" for r in replies], [prompt] * 3, [_label("6")] * 3)
    assert out["scores"].tolist() == [0.0, 1.0, 0.0]

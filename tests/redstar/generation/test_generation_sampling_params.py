"""One recipe, one distribution: every backend sets every sampling parameter itself, takes one
config per request in a single call, and the transformers backend reports token progress
while a batch decodes."""

import copy

import pytest
import torch
from fake_vllm_src import install
from test_generation_openai_replay import _req, server  # noqa: F401 (the fixture)

from redstar.generation import GenerationConfig, Request, make_backend
from redstar.generation.progress import TokenProgress
from redstar.models import tiny_causal_lm

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny():
    return tiny_causal_lm(seed=1)


def _reqs():
    qs = ["What is 7 * 8?", "Let f(x) = x^2 + 2x + 1. Compute f(3).", "1+1?"]
    return [Request(id=f"q{i}", messages=[{"role": "user", "content": q}]) for i, q in enumerate(qs)]


def _with_qwen_like_defaults(model):
    """A copy of ``model`` whose generation_config carries defaults like Qwen's (made strong
    enough to change what a tiny random model writes)."""
    m = copy.deepcopy(model)
    m.generation_config.top_k = 1
    m.generation_config.repetition_penalty = 50.0
    m.generation_config.no_repeat_ngram_size = 1
    m.generation_config.temperature = 0.7
    return m


@pytest.mark.parametrize(
    "cfg",
    [
        GenerationConfig(max_new_tokens=10),  # greedy: the penalty would still apply
        GenerationConfig(n=2, temperature=1.0, top_p=1.0, max_new_tokens=10, seed=4),
    ],
    ids=["greedy", "sampled"],
)
def test_hf_ignores_the_models_generation_config_defaults(tiny, cfg):
    model, tok = tiny
    plain = make_backend("hf", model=model, tokenizer=tok, progress=False).generate(_reqs(), cfg)
    tainted = _with_qwen_like_defaults(model)
    got = make_backend("hf", model=tainted, tokenizer=tok, progress=False).generate(_reqs(), cfg)
    assert got == plain
    # the defaults do change the output when transformers is left to apply them (so the test bites)
    enc = tok.apply_chat_template(
        _reqs()[1].messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    with torch.no_grad():
        a = model.generate(**enc, max_new_tokens=10, do_sample=False, pad_token_id=tok.pad_token_id)
        b = tainted.generate(**enc, max_new_tokens=10, do_sample=False, pad_token_id=tok.pad_token_id)
    assert a.tolist() != b.tolist()


def test_hf_recipe_values_are_applied(tiny):
    """top_k=1 samples the argmax: with it, sampling at temperature 1 equals greedy decoding."""
    model, tok = tiny
    b = make_backend("hf", model=model, tokenizer=tok, progress=False)
    greedy = b.generate(_reqs(), GenerationConfig(max_new_tokens=8))
    top1 = b.generate(_reqs(), GenerationConfig(n=2, temperature=1.0, top_k=1, max_new_tokens=8, seed=3))
    assert [o[:1] for o in top1] == greedy and all(len(set(o)) == 1 for o in top1)


def test_bad_top_k_and_penalty():
    with pytest.raises(ValueError, match="top_k must be >= 0"):
        GenerationConfig(top_k=-1)
    with pytest.raises(ValueError, match="repetition_penalty must be > 0"):
        GenerationConfig(repetition_penalty=0)


def test_hf_one_config_per_request_in_one_call(tiny):
    model, tok = tiny
    b = make_backend("hf", model=model, tokenizer=tok, batch_size=2, progress=False)
    cfgs = [
        GenerationConfig(n=1, max_new_tokens=6),
        GenerationConfig(n=3, temperature=1.0, max_new_tokens=4, seed=2),
        GenerationConfig(n=2, max_new_tokens=6),
    ]
    outs = b.generate(_reqs(), cfgs)
    assert [len(o) for o in outs] == [1, 3, 2]
    alone = [b.generate([r], c)[0] for r, c in zip(_reqs(), cfgs)]
    assert outs[0] == alone[0] and outs[2] == alone[2]  # greedy rows do not depend on the grouping
    with pytest.raises(ValueError, match="2 generation configs for 3 requests"):
        b.generate(_reqs(), cfgs[:2])


class _Recording(TokenProgress):
    """Records the bar's position at every decoding step."""

    seen: list = []

    def put(self, value):
        super().put(value)
        _Recording.seen.append((self.position, self.rows_done))


def test_hf_progress_moves_during_a_batch(tiny, monkeypatch):
    import redstar.generation.hf as hf

    model, tok = tiny
    _Recording.seen = []
    monkeypatch.setattr(hf, "TokenProgress", _Recording)
    b = make_backend("hf", model=model, tokenizer=tok, batch_size=8, progress=False)
    outs = b.generate(_reqs(), GenerationConfig(n=2, temperature=1.0, max_new_tokens=12, seed=1))
    assert len(outs) == 3
    positions = [n for n, _ in _Recording.seen][1:]  # the first put is the prompt
    # one batch of 6 rows x 12 tokens: the bar advances at every step, not only at the end
    assert len(positions) >= 2 and positions == sorted(positions) and positions[0] > 0
    assert positions[-2] < 6 * 12


def test_token_progress_counts_tokens_and_releases_the_budget_of_finished_rows():
    p = TokenProgress(rows_total=3, max_new_tokens=5, disable=True)
    p.start_batch(rows=3, pad_id=0, end_ids={9})
    p.put(torch.tensor([[1, 2], [1, 2], [1, 2]]))  # the prompt: ignored
    p.put(torch.tensor([4, 9, 4]))  # row 1 ends at once: 4 unused tokens given back
    assert (p.tokens, p.rows_done, p.position) == (3, 1, 3 + 4)
    p.put(torch.tensor([[4], [0], [4]]))  # the finished row gets pad; shape [rows, 1] too
    assert (p.tokens, p.position) == (5, 9)
    p.end_batch()  # rows 0 and 2 stop here (a stop string, say): their budget is released
    assert (p.rows_done, p.position) == (3, 15) and p.position == p.total
    assert p.tokens_per_second > 0


def test_vllm_one_call_with_a_sampling_params_per_request(tmp_path, monkeypatch):
    fake = install(tmp_path, monkeypatch)
    (tmp_path / "config.json").write_text("{}")
    b = make_backend("vllm", model=str(tmp_path), progress=False)
    cfgs = [GenerationConfig(n=k, temperature=0.6, top_p=0.95, max_new_tokens=50) for k in (4, 1, 8)]
    cfgs[1] = GenerationConfig(n=2, max_new_tokens=9)  # greedy: asked once, copied
    outs = b.generate(_reqs(), cfgs)
    assert [len(o) for o in outs] == [4, 2, 8]
    llm = fake.INSTANCES[-1]
    assert len(llm.calls) == 1  # the whole chunk in one call: the engine schedules it
    _, sps = llm.calls[0]
    assert [sp.n for sp in sps] == [4, 1, 8]
    assert [(sp.top_k, sp.repetition_penalty) for sp in sps] == [(-1, 1.0)] * 3  # explicit, not the model's
    assert sps[1].max_tokens == 9 and sps[0].temperature == 0.6
    b.generate(_reqs()[:1], GenerationConfig(n=2, temperature=1.0, top_k=20, repetition_penalty=1.05))
    (sp,) = llm.calls[-1][1]
    assert (sp.top_k, sp.repetition_penalty) == (20, 1.05)


def test_vllm_data_parallel_auto_fills_the_node(tmp_path, monkeypatch):
    from redstar.generation.vllm import auto_data_parallel

    assert auto_data_parallel(4, [str(i) for i in range(8)]) == 2
    assert auto_data_parallel(2, ["0", "1", "2"]) == 1
    assert auto_data_parallel(1, None) == 1
    install(tmp_path, monkeypatch)
    (tmp_path / "config.json").write_text("{}")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3,4,5,6,7")
    b = make_backend("vllm", model=str(tmp_path), tensor_parallel_size=4, data_parallel_size="auto", progress=False)
    assert b.data_parallel_size == 2 and b._gpu_groups() == ["0,1,2,3", "4,5,6,7"]
    with pytest.raises(ValueError, match="data_parallel_size an integer >= 1 or 'auto'"):
        make_backend("vllm", model=str(tmp_path), data_parallel_size="all", progress=False)


def test_openai_sends_every_sampling_field(server):  # noqa: F811
    s = server()
    b = make_backend("openai", base_url=s.url, model="m", workers=1, progress=False)
    b.generate([_req(0, "Q")], GenerationConfig(n=1, temperature=0.6, max_new_tokens=20))
    assert (s.bodies[-1]["top_k"], s.bodies[-1]["repetition_penalty"]) == (-1, 1.0)
    cfgs = [GenerationConfig(n=1, max_new_tokens=20), GenerationConfig(n=3, temperature=1.0, max_new_tokens=30)]
    outs = b.generate([_req(1, "A"), _req(2, "B")], cfgs)
    assert [len(o) for o in outs] == [1, 3]
    assert sorted(body["max_tokens"] for body in s.bodies[-2:]) == [20, 30]


def test_openai_server_that_rejects_the_extra_fields_is_asked_without_them(server, caplog):  # noqa: F811
    s = server(reject=("top_k",))
    b = make_backend("openai", base_url=s.url, model="m", workers=1, retries=0, progress=False)
    outs = b.generate([_req(0, "Q"), _req(1, "R")], GenerationConfig(n=1, temperature=0.6, max_new_tokens=20))
    assert len(outs) == 2
    assert "top_k" in s.bodies[0] and "top_k" not in s.bodies[1] and "top_k" not in s.bodies[-1]
    assert "rejects top_k" in caplog.text

import pytest
from fake_vllm_src import install
from PIL import Image

from redstar.generation import GenerationConfig, Request, make_backend


@pytest.fixture
def fake_vllm(tmp_path, monkeypatch):
    """Write the fake package to disk (spawned workers find it through sys.path) and inject it."""
    return install(tmp_path, monkeypatch)


def _reqs(k=3):
    return [
        Request(
            id=f"q{i}",
            messages=[{"role": "system", "content": "Think."}, {"role": "user", "content": f"What is {i} + {i}?"}],
        )
        for i in range(k)
    ]


def test_engine_args_and_sampling_params(fake_vllm, tmp_path):
    model_dir = tmp_path / "m"
    model_dir.mkdir()
    (model_dir / "config.json").write_text("{}")
    b = make_backend("vllm", model=str(model_dir), tensor_parallel_size=1, max_model_len=32768, progress=False)
    llm = fake_vllm.INSTANCES[-1]
    assert llm.model == str(model_dir)
    assert llm.kwargs["enable_prefix_caching"] is True and llm.kwargs["max_model_len"] == 32768
    outs = b.generate(_reqs(3), GenerationConfig(n=4, temperature=0.7, top_p=0.95, max_new_tokens=100, seed=3))
    convs, sps = llm.calls[-1]
    sp = sps[0]
    # the seed is the engine's (LLM(seed=...)); a per-request seed would turn off the fast sampler
    assert (sp.n, sp.temperature, sp.top_p, sp.max_tokens, sp.seed) == (4, 0.7, 0.95, 100, None)
    assert len(convs) == 3 and convs[1][1]["content"] == "What is 1 + 1?"
    assert [len(o) for o in outs] == [4, 4, 4]
    assert len(set(outs[0])) == 4  # distinct samples
    # order kept: output i belongs to request i
    again = b.generate(_reqs(3)[::-1], GenerationConfig(n=4, temperature=0.7, seed=3))
    assert again[::-1] == outs


def test_greedy_asks_once_and_copies(fake_vllm, tmp_path):
    (tmp_path / "config.json").write_text("{}")
    b = make_backend("vllm", model=str(tmp_path), progress=False)
    outs = b.generate(_reqs(2), GenerationConfig(n=3, temperature=0.0, stop=["END"]))
    _, (sp, *_) = fake_vllm.INSTANCES[-1].calls[-1]
    assert sp.n == 1 and sp.stop == ["END"]
    assert all(len(set(o)) == 1 and len(o) == 3 for o in outs)
    assert "END" not in outs[0][0] and outs[0][0].endswith("images=0 ")


def test_images_become_data_url_parts(fake_vllm, tmp_path):
    (tmp_path / "config.json").write_text("{}")
    img = tmp_path / "fig.png"
    Image.new("RGB", (20, 20), "white").save(img)
    b = make_backend("vllm", model=str(tmp_path), max_images=2, progress=False)
    req = Request(
        id="g", messages=[{"role": "user", "content": "Find x."}], images=[str(img), Image.new("RGB", (5, 5))]
    )
    outs = b.generate([req], GenerationConfig())
    convs, _ = fake_vllm.INSTANCES[-1].calls[-1]
    parts = convs[0][0]["content"]
    assert [p["type"] for p in parts] == ["image_url", "image_url", "text"]
    assert "images=2" in outs[0][0]
    assert fake_vllm.INSTANCES[-1].kwargs["limit_mm_per_prompt"] == {"image": 2}


def test_unknown_engine_argument_is_an_error(fake_vllm, tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(TypeError, match="no_such_arg"):
        make_backend("vllm", model=str(tmp_path), no_such_arg=1)


def test_data_parallel_shards_over_gpu_groups(fake_vllm, tmp_path, monkeypatch):
    (tmp_path / "config.json").write_text("{}")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3")
    b = make_backend("vllm", model=str(tmp_path), tensor_parallel_size=2, data_parallel_size=2, progress=False)
    reqs = _reqs(5)
    outs = b.generate(reqs, GenerationConfig(n=2, temperature=1.0, seed=1))
    # interleaved shards: even requests on GPUs 0,1 and odd ones on 2,3, merged back in order
    assert all("gpus=0,1" in t for i in (0, 2, 4) for t in outs[i])
    assert all("gpus=2,3" in t for i in (1, 3) for t in outs[i])
    single = make_backend("vllm", model=str(tmp_path), progress=False)
    ref = single.generate(reqs, GenerationConfig(n=2, temperature=1.0, seed=1))
    strip = lambda rows: [[t.split()[0] for t in r] for r in rows]  # noqa: E731
    assert strip(outs) == strip(ref)


def test_too_many_gpus_requested(fake_vllm, tmp_path, monkeypatch):
    (tmp_path / "config.json").write_text("{}")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    b = make_backend("vllm", model=str(tmp_path), tensor_parallel_size=1, data_parallel_size=2)
    with pytest.raises(ValueError, match="needs 2 GPUs, 1 visible"):
        b.generate(_reqs(2), GenerationConfig())


def test_finish_reasons_travel_with_completions(fake_vllm, tmp_path):
    from redstar.generation import finish_reason

    (tmp_path / "config.json").write_text("{}")
    b = make_backend("vllm", model=str(tmp_path), progress=False)
    full = b.generate(_reqs(2), GenerationConfig(n=2, temperature=0.7, max_new_tokens=100))
    cut = b.generate(_reqs(2), GenerationConfig(n=2, temperature=0.7, max_new_tokens=2))
    assert {finish_reason(t) for o in full for t in o} == {"stop"}
    assert {finish_reason(t) for o in cut for t in o} == {"length"}
    assert all(len(t.split()) == 2 for o in cut for t in o)
    greedy = b.generate(_reqs(1), GenerationConfig(n=3, max_new_tokens=2))[0]  # copies keep the reason
    assert [finish_reason(t) for t in greedy] == ["length"] * 3


@pytest.mark.gpu
def test_real_vllm_on_a_tiny_model(tmp_path):
    """On a GPU machine with vLLM installed: the same calls against the real engine."""
    pytest.importorskip("vllm")
    from redstar.models import tiny_causal_lm

    model, tok = tiny_causal_lm()
    model.save_pretrained(tmp_path / "tiny")
    tok.save_pretrained(tmp_path / "tiny")
    b = make_backend(
        "vllm",
        model=str(tmp_path / "tiny"),
        max_model_len=512,
        gpu_memory_utilization=0.3,
        enforce_eager=True,
        progress=False,
    )
    outs = b.generate(_reqs(3), GenerationConfig(n=2, temperature=1.0, max_new_tokens=8, seed=0))
    assert [len(o) for o in outs] == [2, 2, 2] and all(isinstance(t, str) for o in outs for t in o)
    greedy = b.generate(_reqs(3), GenerationConfig(n=2, max_new_tokens=8))
    assert all(o[0] == o[1] for o in greedy)
    assert all(t.finish_reason in ("stop", "length") for o in outs + greedy for t in o)

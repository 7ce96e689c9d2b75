"""vLLM engine lifecycle: a closed engine is shut down for real, data-parallel workers build
their engine once per run, the seed goes to the engine, and a recipe's second vLLM engine
starts only after the first is shut down."""

from types import SimpleNamespace

import pytest
from fake_vllm_src import install

from redstar.generation import GenerationConfig, Request, make_backend

# the fake engine, plus what the lifecycle needs: vLLM's engine core with its shutdown, and a
# log of engine builds and shutdowns across the spawned worker processes
LIFECYCLE = r"""
import os as _os


def _log(what):
    path = _os.environ.get("FAKE_VLLM_LOG")
    if path:
        with open(path, "a") as f:
            f.write(f"{_os.getpid()} {what}\n")


class _Core:
    def __init__(self, owner):
        self.owner = owner

    def shutdown(self):
        self.owner.alive = False
        _log(f"shutdown {self.owner.model}")


class _Engine:
    def __init__(self, owner):
        self.engine_core = _Core(owner)


_plain_init = LLM.__init__


def _init(self, model, **kwargs):
    _plain_init(self, model, **kwargs)
    self.alive = True
    self.llm_engine = _Engine(self)
    _log(f"build {model}")


LLM.__init__ = _init
"""


@pytest.fixture
def fake_vllm(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "fakesite"))  # spawned workers import it too
    monkeypatch.setenv("FAKE_VLLM_LOG", str(tmp_path / "engines.log"))
    return install(tmp_path, monkeypatch, LIFECYCLE)


def _model(tmp_path, name="m"):
    d = tmp_path / name
    d.mkdir(exist_ok=True)
    (d / "config.json").write_text("{}")
    return str(d)


def _log(tmp_path):
    path = tmp_path / "engines.log"
    return [line.split(" ", 2) for line in path.read_text().splitlines()] if path.exists() else []


def _reqs(k=3):
    return [Request(id=f"q{i}", messages=[{"role": "user", "content": f"What is {i} + {i}?"}]) for i in range(k)]


def test_close_shuts_the_engine_down_and_the_seed_goes_to_the_engine(fake_vllm, tmp_path):
    b = make_backend("vllm", model=_model(tmp_path), seed=7, progress=False)
    b.generate(_reqs(), GenerationConfig(n=2, temperature=1.0, seed=3))
    llm = fake_vllm.INSTANCES[-1]
    assert llm.kwargs["seed"] == 7
    assert all(sp.seed is None for _, sps in llm.calls for sp in sps)  # per-request seeds turn off the fast sampler
    b.close()
    assert llm.alive is False and b.llm is None


def test_data_parallel_workers_build_their_engine_once(fake_vllm, tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    b = make_backend("vllm", model=_model(tmp_path), data_parallel_size=2, progress=False)
    first = b.generate(_reqs(5), GenerationConfig(n=1, temperature=1.0))
    second = b.generate(_reqs(4), GenerationConfig(n=1, temperature=1.0))
    assert "gpus=0" in first[0][0] and "gpus=1" in first[1][0] and len(second) == 4
    builds = [pid for pid, what, _ in _log(tmp_path) if what == "build"]
    assert len(builds) == 2 and len(set(builds)) == 2, builds  # one engine per rank for both calls
    b.close()
    shut = [pid for pid, what, _ in _log(tmp_path) if what == "shutdown"]
    assert sorted(shut) == sorted(builds)


def test_recipe_shuts_the_scorer_down_before_the_teacher_starts(fake_vllm, tmp_path):
    from data_recipes.sampling import Backends

    def spec(name):
        return SimpleNamespace(
            backend="vllm", model=_model(tmp_path, name), base_url="", path="", options={}, chat_template=""
        )

    backends = Backends(SimpleNamespace(run=SimpleNamespace(progress=False)))
    scorer = backends.get(spec("scorer"))
    assert backends.get(spec("scorer")) is scorer  # reused while it is the only engine
    backends.get(spec("teacher"))
    events = [(what, model.rsplit("/", 1)[-1]) for _, what, model in _log(tmp_path)]
    assert events == [("build", "scorer"), ("shutdown", "scorer"), ("build", "teacher")]
    backends.close()
    assert [w for w, _ in events] + ["shutdown"] == [w for _, w, _ in _log(tmp_path)]

"""Teacher sampling hands a backend a whole chunk per call, one config per prompt (no grouping
by n, no blocking batches of 32), and the sampling modules import one way."""

import ast
from pathlib import Path

import pytest

from data_recipes.recipe import BackendSpec
from data_recipes.sampling import generate
from redstar.generation import Backend, GenerationConfig


class _Recorder(Backend):
    name = "recorder"

    def __init__(self):
        self.calls = []

    def generate(self, requests, cfg):
        cfgs = cfg if isinstance(cfg, list) else [cfg] * len(requests)
        self.calls.append([(r.id, c.n) for r, c in zip(requests, cfgs)])
        assert all(isinstance(c, GenerationConfig) for c in cfgs)
        return [[f"{r.id}-{j}" for j in range(c.n)] for r, c in zip(requests, cfgs)]


def _problems(k):
    return [{"id": f"p{i}", "question": f"q{i}"} for i in range(k)]


def test_a_chunk_with_mixed_n_is_one_call():
    b = _Recorder()
    ns = [2, 0, 4, 2, 16] * 20  # 100 prompts, n by difficulty level; 0: not sampled
    outs = generate(b, BackendSpec(backend="hf"), _problems(100), [[]] * 100, ns, 0.7, 0.95, 64, seed=3)
    assert len(b.calls) == 1 and len(b.calls[0]) == 80  # zeros are not sent
    assert [n for _, n in b.calls[0]] == [n for n in ns if n]  # in chunk order, not grouped by n
    assert [len(o) for o in outs] == ns and outs[2] == ["p2-0", "p2-1", "p2-2", "p2-3"]


def test_a_window_caps_the_prompts_per_call():
    b = _Recorder()
    generate(b, BackendSpec(backend="hf"), _problems(10), [[]] * 10, [1, 3] * 5, 0.7, 0.95, 64, seed=0, batch_size=4)
    assert [len(c) for c in b.calls] == [4, 4, 2]


def test_every_sampling_field_reaches_the_backend():
    seen = []

    class Spy(_Recorder):
        def generate(self, requests, cfg):
            seen.extend(cfg)
            return super().generate(requests, cfg)

    generate(
        Spy(),
        BackendSpec(backend="hf"),
        _problems(2),
        [[]] * 2,
        [1, 2],
        0.6,
        0.9,
        99,
        5,
        top_k=20,
        repetition_penalty=1.1,
    )
    assert {(c.temperature, c.top_p, c.top_k, c.repetition_penalty, c.max_new_tokens, c.seed) for c in seen} == {
        (0.6, 0.9, 20, 1.1, 99, 5)
    }


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


@pytest.mark.parametrize(
    "module, must_not_import",
    [
        ("sampling", {"data_recipes.difficulty", "data_recipes.sample_stage"}),
        ("difficulty", {"data_recipes.sample_stage"}),
    ],
)
def test_sampling_and_difficulty_do_not_import_each_other(module, must_not_import):
    path = Path(__file__).resolve().parents[2] / "data_recipes" / f"{module}.py"
    assert not (_imports(path) & must_not_import)

"""A recipe whose difficulty scorer and teacher are both vLLM builds each engine once per run,
not once per chunk: sampling runs one model at a time over every pending chunk. A run killed
during the teacher stage resumes without scoring again and ends with an uninterrupted run's
outputs (the stand-in engine draws the same text for the same prompt, as vLLM's seeded engine
does only within one engine's lifetime)."""

import sys
from pathlib import Path

import pytest

from tests.data_recipes.curate_fixtures import math_problems, write_jsonl

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "redstar" / "generation"))
from fake_vllm_src import install  # noqa: E402

from redstar.cli import main  # noqa: E402

# the stand-in engine, plus a log of engine builds and shutdowns
LOG = r"""
EVENTS = []
_plain_init = LLM.__init__


def _init(self, model, **kwargs):
    _plain_init(self, model, **kwargs)
    EVENTS.append(("build", model.rstrip("/").rsplit("/", 1)[-1]))


def _shutdown(self):
    EVENTS.append(("shutdown", self.model.rstrip("/").rsplit("/", 1)[-1]))


LLM.__init__ = _init
LLM.shutdown = _shutdown
"""
OUTPUTS = ["sft.jsonl", "preferences.jsonl", "rl_prompts.jsonl", "samples.jsonl", "funnel.json", "report.md"]


@pytest.fixture
def fake_vllm(tmp_path, monkeypatch):
    return install(tmp_path, monkeypatch, LOG)


def _recipe(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    data = write_jsonl(root / "math.jsonl", math_problems())  # 12 problems: 4 chunks of 3
    for name in ("scorer", "teacher"):
        (root / name).mkdir(exist_ok=True)
        (root / name / "config.json").write_text("{}")
    recipe = root / "recipe.yaml"
    recipe.write_text(f"""# schema: data_recipes.recipe:Recipe
name: engines
sources:
  - {{path: {data.name}, preset: problem, name: pool}}
difficulty: {{method: model, scorer: {{backend: vllm, model: {root / "scorer"}}}, default_level: 5}}
sampling:
  teachers: [{{name: teacher, backend: {{backend: vllm, model: {root / "teacher"}}}, n: 2}}]
run: {{chunk_size: 3, progress: false}}
""")
    return recipe


def test_scorer_and_teacher_engines_are_built_once(fake_vllm, tmp_path):
    recipe = _recipe(tmp_path / "w")
    assert main(["curate", str(recipe), "--out", str(tmp_path / "out")]) == 0
    assert fake_vllm.EVENTS == [
        ("build", "scorer"),
        ("shutdown", "scorer"),
        ("build", "teacher"),
        ("shutdown", "teacher"),
    ]
    chunks = sorted(p.name for p in (tmp_path / "out" / "chunks").iterdir())
    assert sum(name.endswith(".done.json") for name in chunks) == 4
    assert not [n for n in chunks if ".scored." in n or ".teacher-" in n]  # stage files removed


def test_killed_during_the_teacher_stage_resumes_without_scoring_again(fake_vllm, tmp_path, monkeypatch):
    import data_recipes.sampling as sampling

    recipe = _recipe(tmp_path / "w")
    assert main(["curate", str(recipe), "--out", str(tmp_path / "clean")]) == 0
    fake_vllm.EVENTS.clear()

    real, calls = sampling.sample_chunk, []

    def dies_on_the_third_chunk(problems, recipe, backends, chunk_index, teachers=None):
        calls.append(chunk_index)
        if len(calls) == 3:
            raise KeyboardInterrupt  # killed mid-stage
        return real(problems, recipe, backends, chunk_index, teachers)

    monkeypatch.setattr(sampling, "sample_chunk", dies_on_the_third_chunk)
    out = tmp_path / "killed"
    assert main(["curate", str(recipe), "--out", str(out)]) != 0  # "interrupted"
    names = {p.name for p in (out / "chunks").iterdir()}
    assert {f"{k:05d}.scored.jsonl" for k in range(4)} <= names  # scoring had finished
    assert {n for n in names if ".teacher-" in n} == {"00000.teacher-0.jsonl", "00001.teacher-0.jsonl"}
    monkeypatch.setattr(sampling, "sample_chunk", real)
    fake_vllm.EVENTS.clear()
    assert main(["curate", str(recipe), "--out", str(out)]) == 0
    assert fake_vllm.EVENTS == [("build", "teacher"), ("shutdown", "teacher")]  # the scorer is not reloaded
    for name in OUTPUTS:
        assert (out / name).read_bytes() == (tmp_path / "clean" / name).read_bytes(), name

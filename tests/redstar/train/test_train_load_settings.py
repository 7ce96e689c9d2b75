"""The vision-language and reward-model recipes load their model as text SFT / DPO do
(redstar.train.engine.load_settings): in the training dtype under DeepSpeed, and under ZeRO-3
while the HfDeepSpeedConfig object is held, so from_pretrained partitions the weights as they
load. (The real partitioned load is tests/redstar/train/test_train_distributed.py.)"""

import weakref
from pathlib import Path

import pytest

import redstar.train.engine as engine
from redstar.train.engine import TrainConfig

ROOT = Path(__file__).resolve().parents[3]


class _Loaded(Exception):
    pass


class _Held:
    pass


def _rm_run(tmp_path, train, monkeypatch, load):
    from redstar.dataio import write_jsonl
    from redstar.models import tiny_causal_lm
    from redstar.rm.model import RewardModel
    from redstar.rm.train import RMDataConfig, RMTrainConfig
    from redstar.rm.train import train as run
    from tests.redstar.rm.rm_fixtures import synthetic_task

    problems, samples = synthetic_task(4)
    # the RM tokenises its data (into the token cache) before any model loads: a real tokenizer
    model_dir = tmp_path / "some-model"
    m, tok = tiny_causal_lm(seed=0)
    m.save_pretrained(model_dir)
    tok.save_pretrained(model_dir)
    write_jsonl(tmp_path / "p.jsonl", problems)
    write_jsonl(tmp_path / "s.jsonl", samples)
    monkeypatch.setattr(
        RewardModel,
        "from_causal_lm",
        classmethod(lambda cls, source, tokenizer=None, head="auto", dtype="float32": load(source, dtype)),
    )
    run(
        RMTrainConfig(
            model=str(model_dir),
            out=str(tmp_path / "run"),
            train=train,
            data=RMDataConfig(samples=[str(tmp_path / "s.jsonl")], problems=str(tmp_path / "p.jsonl"), n=4),
        )
    )


def _vl_run(tmp_path, train, monkeypatch, load, recipe):
    import geo.sft
    from geo.dataset import VLDataConfig
    from geo.dpo import VLDPOConfig
    from geo.dpo import run as run_dpo

    monkeypatch.setattr(
        geo.sft,
        "load_vl_model",
        lambda name, attn="sdpa", trust_remote_code=False, seed=0, dtype="float32": load(name, dtype),
    )
    cls, run = (geo.sft.VLSFTConfig, geo.sft.run) if recipe == "vl-sft" else (VLDPOConfig, run_dpo)
    run(
        cls(
            data=VLDataConfig(train=[str(tmp_path / "rows.jsonl")]),
            model="some/model",
            attn_implementation="sdpa",
            train=train,
            out=str(tmp_path / "run"),
        )
    )


@pytest.mark.parametrize("recipe", ["vl-sft", "vl-dpo", "rm"])
def test_recipe_loads_under_load_settings(tmp_path, monkeypatch, recipe):
    seen = {}

    def settings(tcfg, world_size):
        held = _Held()
        seen["held"] = weakref.ref(held)
        seen["settings"] = (tcfg.strategy, tcfg.zero_stage, tcfg.dtype, world_size)
        return "bfloat16", held

    def load(name, dtype):
        seen["load"] = (name, dtype, seen["held"]() is not None)
        raise _Loaded

    monkeypatch.setattr(engine, "load_settings", settings)
    train = TrainConfig(
        strategy="deepspeed", zero_stage=3, dtype="bfloat16", device="cpu", progress=False, tensorboard=False
    )
    with pytest.raises(_Loaded):
        if recipe == "rm":
            _rm_run(tmp_path, train, monkeypatch, load)
        else:
            _vl_run(tmp_path, train, monkeypatch, load, recipe)
    assert seen["settings"] == ("deepspeed", 3, "bfloat16", 1)
    name = str(tmp_path / "some-model") if recipe == "rm" else "some/model"
    assert seen["load"] == (name, "bfloat16", True)  # in its dtype, while the object is held

"""Configs explain themselves: every key has help, shown in --help and --print-config; enum-like
strings are checked by the loader; cross-field checks fail when the config loads."""

import importlib
from pathlib import Path
from re import escape as _re_escape

import pytest
import yaml

from redstar.cli import main
from redstar.config import ConfigError, config_keys, load_config, to_dict

ROOT = Path(__file__).resolve().parents[2]
TRAINING = {
    "sft": "redstar.train.sft:SFTConfig",
    "dpo": "redstar.train.dpo:DPOConfig",
    "rm train": "redstar.rm.train:RMTrainConfig",
    "sft vision": "geo.sft:VLSFTConfig",
    "dpo vision": "geo.dpo:VLDPOConfig",
}


def _schema(spec):
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize(
    "spec",
    sorted(set(TRAINING.values()))
    + ["data_recipes.recipe:Recipe", "redstar.rl.launch:RLLaunchConfig", "redstar.sweep.config:SweepConfig"],
)
def test_every_key_has_help(spec):
    keys = config_keys(_schema(spec))
    missing = [key for key, _, _, text in keys if not text]
    assert len(keys) > 20 and not missing, missing


@pytest.mark.parametrize(
    "argv, spec",
    [
        (["sft"], TRAINING["sft"]),
        (["dpo"], TRAINING["dpo"]),
        (["rm", "train"], TRAINING["rm train"]),
        (["sft"], TRAINING["sft vision"]),  # one help documents both recipes
        (["dpo"], TRAINING["dpo vision"]),
    ],
)
def test_help_lists_every_key_with_its_help(argv, spec, capsys):
    with pytest.raises(SystemExit) as e:
        main([*argv, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for key, _, _, text in config_keys(_schema(spec)):
        assert f"  {key} (" in out and text in out, key


def _shipped():
    out = []
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        first = path.read_text().splitlines()[0]
        spec = first.split("schema:", 1)[1].strip()
        if spec in TRAINING.values():
            out.append((path, spec))
    return out


@pytest.mark.parametrize("path, spec", _shipped(), ids=lambda v: getattr(v, "name", ""))
def test_print_config_annotates_every_key_and_loads_back(path, spec, tmp_path, capsys):
    cls = _schema(spec)
    command = {
        "redstar.train.sft:SFTConfig": ["sft"],
        "geo.sft:VLSFTConfig": ["sft"],
        "redstar.train.dpo:DPOConfig": ["dpo"],
        "geo.dpo:VLDPOConfig": ["dpo"],
        "redstar.rm.train:RMTrainConfig": ["rm", "train"],
    }[spec]
    assert main([*command, str(path), "train.seed=7", "--print-config"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"# schema: {spec}\n")
    keyed = [line for line in printed.splitlines()[1:] if ":" in line and not line.lstrip().startswith("#")]
    assert all("  # " in line for line in keyed), [line for line in keyed if "  # " not in line]
    (tmp_path / "printed.yaml").write_text(printed)
    again = load_config(cls, tmp_path / "printed.yaml")
    assert to_dict(again) == to_dict(load_config(cls, path, ["train.seed=7"]))
    assert yaml.safe_load(printed)["train"]["seed"] == 7


def test_enum_like_strings_are_checked(tmp_path):
    from redstar.train.sft import SFTConfig

    cfg = ROOT / "configs" / "sft_tiny_cpu.yaml"
    with pytest.raises(ConfigError, match=r"'attn_implementation' = 'fast' must be one of \['auto', "):
        load_config(SFTConfig, cfg, ["attn_implementation=fast"])
    with pytest.raises(ConfigError, match=r"'train.schedule' = 'step' must be one of"):
        load_config(SFTConfig, cfg, ["train.schedule=step"])
    from data_recipes.recipe import load_recipe

    recipe = str(ROOT / "data_recipes" / "recipes" / "redstar_math.yaml")
    for override, key in (
        ("difficulty.method=guess", "difficulty.method"),
        ("sampling.teachers.0.backend.backend=tgi", "sampling.teachers[0].backend.backend"),
        ("filters.language=fr", "filters.language"),
    ):
        with pytest.raises(ConfigError, match=_re_escape(f"'{key}' = ")):
            load_recipe(recipe, [override])


@pytest.mark.parametrize(
    "spec, overrides, message",
    [
        ("redstar.train.sft:SFTConfig", ["train.warmup_ratio=1.5"], "train: lr must be >= 0, warmup_ratio in"),
        (
            "redstar.train.sft:SFTConfig",
            ["train.strategy=torch", "train.offload=true"],
            "offload needs strategy deepspeed",
        ),
        ("redstar.train.sft:SFTConfig", ["train.betas=[0.9]"], "betas must be two numbers"),
        (
            "redstar.train.dpo:DPOConfig",
            ["dpo.loss_type=ipo", "dpo.label_smoothing=0.1"],
            "applies to loss_type sigmoid",
        ),
        ("redstar.train.dpo:DPOConfig", ["dpo.beta=0"], "beta must be > 0"),
        ("redstar.rm.train:RMTrainConfig", ["data.eval_fraction=1.0"], "eval_fraction"),
        (
            "geo.sft:VLSFTConfig",
            ["freeze.train_language=false", "freeze.train_projector=false"],
            "every part is frozen",
        ),
    ],
)
def test_cross_field_checks_fail_at_load_time(spec, overrides, message):
    files = {
        "redstar.train.sft:SFTConfig": "sft_tiny_cpu.yaml",
        "redstar.train.dpo:DPOConfig": "dpo_tiny_cpu.yaml",
        "redstar.rm.train:RMTrainConfig": "rm_tiny.yaml",
        "geo.sft:VLSFTConfig": "geo_sft_tiny.yaml",
    }
    path = ROOT / "configs" / files[spec]
    with pytest.raises(ConfigError, match=message) as e:
        load_config(_schema(spec), path, overrides)
    assert str(e.value).startswith(f"{path} + command line: ")


def test_bad_config_fails_before_the_model_loads(tmp_path, capsys):
    """Through the command: exit 2 and a one-line error, nothing written."""
    rc = main(["sft", str(ROOT / "configs" / "sft_tiny_cpu.yaml"), f"out={tmp_path / 'run'}", "train.warmup_ratio=2"])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert "warmup_ratio" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_redstar_configs_lists_every_shipped_config(capsys):
    from redstar.configs import FOLDERS

    assert main(["configs"]) == 0
    out = capsys.readouterr().out.splitlines()
    files = [f"{folder}/{p.name}" for folder in FOLDERS for p in sorted((ROOT / folder).glob("*.yaml"))]
    assert [line.split()[0] for line in out] == files
    line = next(x for x in out if x.startswith("configs/sft_tiny_cpu.yaml "))
    assert "redstar sft" in line and "A few CPU steps of the embedded default model" in line
    assert main(["configs", "--schema", "RMTrainConfig"]) == 0
    assert {x.split()[0] for x in capsys.readouterr().out.splitlines()} == {
        "configs/rm_acemath.yaml",
        "configs/rm_tiny.yaml",
    }


def _strings(node):
    if isinstance(node, dict):
        for v in node.values():
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)
    elif isinstance(node, str):
        yield node


def test_shipped_configs_never_read_files_under_tests():
    """Demo and tiny data ship with the package; the test tree is not installed."""
    from redstar.configs import FOLDERS

    bad = []
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).glob("*.yaml")):
            for value in _strings(yaml.safe_load(path.read_text())):
                if value.replace("\\", "/").lstrip("./").startswith("tests/"):
                    bad.append(f"{path.relative_to(ROOT)}: {value}")
    assert not bad, bad


def test_one_public_function_moves_a_batch_to_its_device():
    import re as _re

    import torch

    from redstar.train.engine import batch_to_device

    cu = torch.tensor([0, 3, 5], dtype=torch.int32)
    batch = {"input_ids": torch.ones(1, 5, dtype=torch.long), "cu_seqlens": cu, "n": 2}
    moved = batch_to_device(batch, "cpu")
    assert moved["cu_seqlens"] is cu and moved["n"] == 2 and moved["input_ids"].device.type == "cpu"
    # no recipe keeps its own copy of the loop
    own = _re.compile(r"\.to\(device\) if torch\.is_tensor\(v\)")
    copies = [
        str(p.relative_to(ROOT))
        for pkg in ("redstar", "geo", "eval", "data_recipes")
        for p in (ROOT / pkg).rglob("*.py")
        if own.search(p.read_text(encoding="utf-8"))
    ]
    assert not copies, copies


def test_the_four_data_configs_share_a_base():
    import dataclasses

    from geo.dataset import VLDataConfig
    from redstar.config import DataConfigBase, RowFilesConfig
    from redstar.rm.train import RMDataConfig
    from redstar.train.dpo import DPODataConfig
    from redstar.train.sft import DataConfig

    for cls in (DataConfig, DPODataConfig, VLDataConfig):
        assert issubclass(cls, RowFilesConfig)
        names = [f.name for f in dataclasses.fields(cls)]
        assert {"train", "max_len", "max_rows", "skip_bad", "system_prompt"} <= set(names)
        assert len(names) == len(set(names))
    assert issubclass(RMDataConfig, DataConfigBase) and not issubclass(RMDataConfig, RowFilesConfig)
    # each recipe keeps its own max_len default
    assert (DataConfig().max_len, DPODataConfig().max_len, VLDataConfig(train=[]).max_len, RMDataConfig().max_len) == (
        16384,
        8192,
        4096,
        4096,
    )
    with pytest.raises(ConfigError, match="missing required key 'train'"):
        from redstar.config import from_dict

        from_dict(VLDataConfig, {"max_len": 512})


def test_curate_help_and_print_config(tmp_path, capsys):
    from data_recipes.recipe import Recipe, load_recipe

    with pytest.raises(SystemExit):
        main(["curate", "--help"])
    out = capsys.readouterr().out
    assert "  sampling.teachers.N.n (int = 4): samples per prompt" in out
    assert "  sources (list[SourceSpec] = []): the problem pools" in out
    recipe = ROOT / "data_recipes" / "recipes" / "redstar_math.yaml"
    assert main(["curate", str(recipe), "--out", str(tmp_path / "o"), "sampling.teachers.0.n=3", "--print-config"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("# schema: data_recipes.recipe:Recipe\n") and not (tmp_path / "o").exists()
    (tmp_path / "printed.yaml").write_text(printed)
    again = load_config(Recipe, tmp_path / "printed.yaml")
    want = load_recipe(str(recipe), ["sampling.teachers.0.n=3"])
    assert to_dict(again) == to_dict(want) and again.sampling.teachers[0].n == 3

from dataclasses import dataclass, field

import pytest

from redstar.config import ConfigError, load_config, save_config


@dataclass
class Optim:
    lr: float = 1e-5
    betas: list[float] = field(default_factory=lambda: [0.9, 0.95])


@dataclass
class Cfg:
    model: str = "default"
    steps: int = 10
    packing: bool = True
    mode: str | None = None
    optim: Optim = field(default_factory=Optim)


def _write(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return p


def test_yaml_values_and_overrides(tmp_path):
    p = _write(tmp_path, "model: foo\nsteps: 3\noptim:\n  lr: 2.0e-6\n")
    cfg = load_config(Cfg, p, ["optim.lr=3e-6", "steps=7", "packing=false"])
    assert cfg.model == "foo" and cfg.steps == 7 and cfg.packing is False
    assert cfg.optim.lr == pytest.approx(3e-6) and cfg.optim.betas == [0.9, 0.95]


def test_int_is_accepted_for_float(tmp_path):
    cfg = load_config(Cfg, _write(tmp_path, "optim:\n  lr: 1\n"))
    assert isinstance(cfg.optim.lr, float)


def test_unknown_key_in_file_names_key_and_file(tmp_path):
    p = _write(tmp_path, "optim:\n  lrr: 1.0\n")
    with pytest.raises(ConfigError) as e:
        load_config(Cfg, p)
    assert "optim.lrr" in str(e.value) and str(p) in str(e.value)


def test_unknown_override_names_key(tmp_path):
    with pytest.raises(ConfigError, match="command line: unknown key 'optim.momentum'"):
        load_config(Cfg, _write(tmp_path, "steps: 1\n"), ["optim.momentum=0.9"])


def test_wrong_type_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="'steps' must be an integer"):
        load_config(Cfg, _write(tmp_path, "steps: many\n"))
    with pytest.raises(ConfigError, match="must be true or false"):
        load_config(Cfg, _write(tmp_path, "steps: 1\n"), ["packing=3"])


def test_bad_yaml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(Cfg, _write(tmp_path, "steps: [1,\n"))
    with pytest.raises(ConfigError, match="not found"):
        load_config(Cfg, tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="key=value"):
        load_config(Cfg, None, ["steps"])


def test_save_and_reload_roundtrip(tmp_path):
    cfg = load_config(Cfg, None, ["optim.lr=4e-6", "mode=two_stage"])
    save_config(cfg, tmp_path / "resolved.yaml")
    assert load_config(Cfg, tmp_path / "resolved.yaml") == cfg


@dataclass
class Teacher:
    name: str = "t"
    n: int = 4


@dataclass
class WithList:
    teachers: list[Teacher] = field(default_factory=lambda: [Teacher()])


def test_override_indexes_lists(tmp_path):
    p = _write(tmp_path, "teachers:\n  - {name: a, n: 2}\n  - {name: b}\n")
    cfg = load_config(WithList, p, ["teachers.1.n=16"])
    assert [(t.name, t.n) for t in cfg.teachers] == [("a", 2), ("b", 16)]
    with pytest.raises(ConfigError, match="index out of range"):
        load_config(WithList, p, ["teachers.5.n=1"])
    with pytest.raises(ConfigError, match="unknown key 'teachers.0.m'"):
        load_config(WithList, p, ["teachers.0.m=1"])

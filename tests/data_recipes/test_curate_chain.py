"""The shipped configs chain: the README's `redstar curate ... --out runs/math` writes what
sft_redstar_longcot.yaml reads, the SFT model lands where dpo_redstar.yaml and the OpenRLHF PPO
config start from, and rm_acemath.yaml reads the curation's samples and problems. Walked for
real: a small curation (replayed responses) into runs/math, then each next command's
--print-config / --dry-run, checking that every path it reads was written by a command before."""

import re
import shlex
from pathlib import Path

import yaml

from redstar.cli import main

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _printed(capsys, argv) -> dict:
    capsys.readouterr()
    assert main(argv) == 0
    return yaml.safe_load(capsys.readouterr().out)


def test_shipped_configs_chain(world, tmp_path, monkeypatch, capsys):
    recipe, _ = world
    monkeypatch.chdir(tmp_path)
    # 1. curation, into the directory the README names for the redstar_math recipe
    m = re.search(r"redstar curate data_recipes/recipes/redstar_math\.yaml --out (\S+)", README)
    assert m, "README: the redstar_math curation command"
    curate_out = m.group(1)
    assert main(["curate", str(recipe), "--out", curate_out]) == 0
    written = {p.relative_to(tmp_path).as_posix() for p in (tmp_path / curate_out).rglob("*") if p.is_file()}

    # 2. SFT reads the curation's rows; its model is <out>/final
    sft = _printed(capsys, ["sft", str(ROOT / "configs" / "sft_redstar_longcot.yaml"), "--print-config"])
    assert sft["data"]["train"] and set(sft["data"]["train"]) <= written, sft["data"]["train"]
    sft_model = f"{sft['out']}/final"

    # 3. native DPO starts from that model, on the curation's preference pairs
    dpo = _printed(capsys, ["dpo", str(ROOT / "configs" / "dpo_redstar.yaml"), "--print-config"])
    assert dpo["model"] == sft_model and set(dpo["data"]["train"]) <= written

    # 4. the reward model reads the curation's samples and problems
    rm = _printed(capsys, ["rm", "train", str(ROOT / "configs" / "rm_acemath.yaml"), "--print-config"])
    assert set(rm["data"]["samples"]) <= written and rm["data"]["problems"] in written

    # 5. OpenRLHF PPO: the export command in the config's header, then the launch dry-run
    ppo_path = ROOT / "launch" / "openrlhf" / "redstar_ppo.yaml"
    header = [line[1:].strip() for line in ppo_path.read_text().splitlines() if line.startswith("#   redstar")]
    export = next(shlex.split(c) for c in header if c.startswith("redstar rl export"))
    assert export[export.index("--input") + 1] in written
    assert main(export[1:]) == 0
    ppo = yaml.safe_load(ppo_path.read_text())
    assert ppo["model"] == sft_model and ppo["data"] == export[export.index("--output") + 1]
    capsys.readouterr()
    assert main(["rl", "launch", "--algo", "ppo", str(ppo_path), "--dry-run"]) == 0
    out = capsys.readouterr()
    assert f"--actor.model_name_or_path {tmp_path / sft_model}" in out.out
    assert "is not here" not in out.out + out.err  # the prompts exist: the export wrote them

"""From `redstar curate` output to OpenRLHF: export, load with its PromptDataset / RewardDataset,
check the launch command, and grade the teacher's own replies with the exported labels."""

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("openrlhf")

from redstar.cli import main  # noqa: E402
from tests.geo_code_inputs import CODE_RIGHT, CODE_WRONG, GEO_RIGHT, GEO_WRONG, write_geo_code_inputs  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]


def _curate(tmp_path) -> Path:
    out = tmp_path / "curated"
    assert main(["curate", str(write_geo_code_inputs(tmp_path)), "--out", str(out)]) == 0
    return out


def test_curate_output_to_openrlhf_data_launch_and_reward(tmp_path, capsys, monkeypatch):
    from openrlhf.datasets import PromptDataset, RewardDataset
    from openrlhf.datasets.utils import blending_datasets
    from openrlhf.utils.config import hierarchize

    from redstar.models import tiny_tokenizer
    from redstar.rl.launch import render_flags
    from redstar.rl.openrlhf_cli import build_parser

    curated = _curate(tmp_path)
    rl, dpo = tmp_path / "openrlhf" / "rl.jsonl", tmp_path / "openrlhf" / "dpo.jsonl"
    assert main(["rl", "export", "--input", str(curated / "rl_prompts.jsonl"), "--output", str(rl)]) == 0
    assert main(["rl", "export", "--input", str(curated / "preferences.jsonl"), "--output", str(dpo)]) == 0

    # The launch command for GRPO on these prompts, checked by OpenRLHF's own parser.
    capsys.readouterr()
    tiny_tokenizer().save_pretrained(tmp_path / "policy")  # the overlong penalty counts its tokens
    assert (
        main(
            [
                "rl",
                "launch",
                "--algo",
                "grpo",
                str(ROOT / "launch/openrlhf/grpo.yaml"),
                f"data={rl}",
                f"reward.tokenizer={tmp_path / 'policy'}",
                "--dry-run",
            ]
        )
        == 0
    )
    import shlex

    argv = shlex.split(capsys.readouterr().out.strip().splitlines()[-1])
    flags = argv[argv.index("openrlhf.cli.train_ppo_ray") + 1 :]
    env = json.loads(next(a for a in argv if a.startswith("--runtime-env-json=")).split("=", 1)[1])["env_vars"]
    assert argv[argv.index("--data.max_images_per_prompt") + 1] == "1"

    tok = tiny_tokenizer()
    args = hierarchize(build_parser("ppo_ray").parse_args(flags))
    strategy = SimpleNamespace(args=args, is_rank_0=lambda: True, print=lambda *a, **k: None)
    data = blending_datasets(args.data.prompt_dataset, None, strategy, dataset_split=args.data.prompt_split)
    prompts = PromptDataset(data, tok, strategy)
    assert sorted(prompts.datasources) == ["geoqa", "taco"]
    geo = prompts.datasources.index("geoqa")
    assert "<|image_pad|>" in prompts.prompts[geo] and Path(prompts.images[geo][0]).is_file()

    pref = RewardDataset(
        blending_datasets(str(dpo), None, strategy),
        tok,
        512,
        SimpleNamespace(
            args=hierarchize(
                build_parser("dpo").parse_args(
                    render_flags(
                        {
                            "data.prompt_key": "prompt",
                            "data.chosen_key": "chosen",
                            "data.rejected_key": "rejected",
                            "data.apply_chat_template": True,
                        }
                    )
                )
            ),
            is_rank_0=lambda: True,
            print=lambda *a: None,
        ),
        is_dpo=True,
        num_processors=1,
    )
    assert len(pref) == 2

    # The reward, with the launcher's env, on the teacher's replies: right ones 1, wrong ones 0.
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("REDSTAR_REWARD_WORKERS", "2")
    from redstar.rl.reward import accuracy_by_datasource, reward_func

    replies = {"geoqa": [GEO_RIGHT, GEO_WRONG], "taco": [CODE_RIGHT, CODE_WRONG]}
    queries, ps, labels = [], [], []
    for src, prompt, label in zip(prompts.datasources, prompts.prompts, prompts.labels):
        for reply in replies[src]:
            queries.append(prompt + reply + "<|im_end|>")
            ps.append(prompt)
            labels.append(label)
    out = reward_func(queries, ps, labels)
    assert out["scores"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert accuracy_by_datasource(out["extra_logs"]) == {"geoqa": 0.5, "taco": 0.5}

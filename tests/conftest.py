import os
from pathlib import Path

# Tests never reach a hub: models and data are built from config or written by the tests.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Training runs keep their token caches in a directory of this test session, not in ~/.cache.
if "REDSTAR_CACHE" not in os.environ:
    import tempfile

    os.environ["REDSTAR_CACHE"] = tempfile.mkdtemp(prefix="redstar-test-cache-")

import pytest  # noqa: E402


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_gpu = torch.cuda.is_available()
    except Exception:
        has_gpu = False
    if has_gpu:
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def one_torch_thread():
    """Two CPU cores shared by several jobs: one torch thread per process avoids oversubscription
    (five to eight times faster than two contending threads here). A module opts in with
    ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


SFT_ROWS = Path(__file__).resolve().parents[1] / "redstar" / "train" / "data" / "sft_tiny.jsonl"


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory):
    """A random tiny Qwen2-style causal LM (seed 0) and its tokenizer, saved once per session."""
    from redstar.models import tiny_causal_lm

    d = tmp_path_factory.mktemp("tiny_model")
    model, tok = tiny_causal_lm(seed=0)
    model.save_pretrained(d)
    tok.save_pretrained(d)
    return d


@pytest.fixture
def write_sft_config(tmp_path, tiny_lm_dir):
    """``write(out, data={...}, train={...})`` writes ``tmp_path/sft.yaml``: a CPU SFT config on
    the tiny model and the shipped tiny SFT rows, the given keys added to ``data`` / ``train``."""
    import yaml

    def write(out, data=None, train=None):
        cfg = {
            "model": str(tiny_lm_dir),
            "out": str(out),
            "attn_implementation": "sdpa",
            "data": {"train": [str(SFT_ROWS)], "max_len": 256, **(data or {})},
            "train": {"lr": 1.0e-3, "dtype": "float32", "device": "cpu", "save_every": 2, **(train or {})},
        }
        path = tmp_path / "sft.yaml"
        path.write_text("# schema: redstar.train.sft:SFTConfig\n" + yaml.safe_dump(cfg, sort_keys=False))
        return path

    return write


@pytest.fixture(scope="session")
def quick_demo(tmp_path_factory):
    """``redstar demo --out runs/demo --quick`` run once for the whole test session (it takes
    minutes) and shared by the demo's end-to-end test and the README examples that read its
    output. It runs in a working directory with the repository's folders linked in, so the
    examples' relative paths resolve, and then runs again at once with the same arguments.
    Returns a namespace: ``root`` (that directory), ``out`` (root/runs/demo), ``report`` (the
    report after the first run), ``rerun_stdout`` and ``rerun_report`` (what the second run
    printed and wrote). The working directory is restored before the tests run."""
    import contextlib
    import io
    import types

    from redstar.cli import main

    repo = Path(__file__).resolve().parents[1]
    root = tmp_path_factory.mktemp("quick_demo")
    for folder in repo.iterdir():
        if folder.is_dir() and not folder.name.startswith(".") and folder.name != "runs":
            (root / folder.name).symlink_to(folder)
    out = root / "runs" / "demo"
    before = Path.cwd()
    os.chdir(root)
    try:
        assert main(["demo", "--out", "runs/demo", "--quick"]) == 0
        report = (out / "report.md").read_text()
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            assert main(["demo", "--out", "runs/demo", "--quick"]) == 0
    finally:
        os.chdir(before)
    return types.SimpleNamespace(
        root=root, out=out, report=report, rerun_stdout=printed.getvalue(), rerun_report=(out / "report.md").read_text()
    )

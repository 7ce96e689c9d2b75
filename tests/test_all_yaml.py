"""Every YAML shipped in the repo loads into the schema its first line names."""

import importlib
import re
from pathlib import Path

import pytest

from redstar.config import load_config, read_yaml

ROOT = Path(__file__).resolve().parents[1]
SKIP = {".venv", ".git", "node_modules", "runs", "build"}
YAMLS = sorted(
    p for p in ROOT.rglob("*.y*ml") if p.suffix in (".yaml", ".yml") and not (set(p.relative_to(ROOT).parts) & SKIP)
)


@pytest.mark.parametrize("path", YAMLS, ids=[str(p.relative_to(ROOT)) for p in YAMLS])
def test_yaml_loads_into_its_schema(path):
    first = path.read_text().splitlines()[0] if path.read_text() else ""
    m = re.match(r"#\s*schema:\s*([\w.]+):(\w+)", first)
    assert m, f"{path.relative_to(ROOT)}: first line must be '# schema: package.module:ClassName'"
    schema = getattr(importlib.import_module(m.group(1)), m.group(2))
    data = read_yaml(path)
    if data.get("modality") == "vision" and "modality" not in getattr(schema, "__dataclass_fields__", {}):
        pytest.fail(f"{path}: modality key not in schema {schema.__name__}")
    load_config(schema, path)

"""A stand-in for a demo step's command: ``python -m tests.redstar_demo.fake_step OUT VALUE`` writes
OUT/result.json holding VALUE, OUT/env.json holding the OMP_NUM_THREADS it was given, and
appends one line to OUT/../calls.log."""

import json
import os
import sys
from pathlib import Path

out, value = Path(sys.argv[1]), sys.argv[2]
out.mkdir(parents=True, exist_ok=True)
(out / "result.json").write_text(json.dumps({"value": value}))
(out / "env.json").write_text(json.dumps({"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")}))
with open(out.parent / "calls.log", "a") as f:
    f.write(f"{out.name} {value}\n")

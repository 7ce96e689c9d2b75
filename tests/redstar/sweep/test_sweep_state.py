"""Resume decisions for one unit of work inside a sweep directory."""

import pytest

from redstar.config import ConfigError
from redstar.sweep import state


def test_unit_done_only_with_its_output_and_the_same_commands(tmp_path):
    out, done = tmp_path / "sweep", tmp_path / "sweep" / "cells" / "c" / "sft" / "final" / "config.json"
    assert state.check_unit(out, "cells/c", ["redstar sft a.yaml"], [str(done)]) is False  # never started
    state.start_unit(out, "cells/c", ["redstar sft a.yaml"])
    assert state.check_unit(out, "cells/c", ["redstar sft a.yaml"], [str(done)]) is False  # started, killed
    with pytest.raises(ConfigError, match="was started with other commands"):
        state.check_unit(out, "cells/c", ["redstar sft b.yaml"], [str(done)])
    done.parent.mkdir(parents=True)
    done.write_text("{}")
    state.finish_unit(out, "cells/c", ["redstar sft a.yaml"], status="done", wall_seconds=1.5)
    assert state.check_unit(out, "cells/c", ["redstar sft a.yaml"], [str(done)]) is True
    assert state.unit_status(out, "cells/c")["wall_seconds"] == 1.5
    with pytest.raises(ConfigError, match="was run with other commands"):
        state.check_unit(out, "cells/c", ["redstar sft b.yaml"], [str(done)])
    # outputs this sweep did not record are not taken as its own
    other = tmp_path / "sweep" / "evals" / "x" / "metrics.json"
    other.parent.mkdir(parents=True)
    other.write_text("{}")
    with pytest.raises(ConfigError, match="did not record"):
        state.check_unit(out, "evals/x", ["redstar eval"], [str(other)])

"""The funnel: counts in and out of every stage, drop reasons, per source and per level.

    f = Funnel()
    f.add("dedup", kept=False, reason="near duplicate", source="numina", level=7)
    f.merge(other.to_dict())          # chunk and shard counts add up
    f.to_dict()                       # {"dedup": {"unit", "in", "out", "dropped", "by_source", "by_level"}}

Counts are plain sums, so per-chunk funnels written by different shards merge into the same
totals an unsharded run would give.
"""

from __future__ import annotations

# stage -> unit, in pipeline order
STAGES = {
    "load": "problems",
    "dedup": "problems",
    "decontam": "problems",
    "difficulty": "problems",
    "sampling": "problems",
    "truncation": "samples",
    "filters": "samples",
    "crosscheck": "samples",
    "verify": "samples",
    "curators": "samples",
    "export_sft": "samples",
}


def level_bucket(level) -> str:
    return "none" if level is None else str(int(level))


class Funnel:
    def __init__(self, data: dict | None = None):
        self.data: dict[str, dict] = {}
        if data:
            self.merge(data)

    def _stage(self, stage: str) -> dict:
        if stage not in self.data:
            self.data[stage] = {
                "unit": STAGES.get(stage, "items"),
                "in": 0,
                "out": 0,
                "dropped": {},
                "by_source": {},
                "by_level": {},
            }
        return self.data[stage]

    def add(self, stage: str, kept: bool, reason: str | None = None, source: str = "", level=None, n: int = 1) -> None:
        st = self._stage(stage)
        st["in"] += n
        st["out"] += n if kept else 0
        if not kept:
            key = reason or "dropped"
            st["dropped"][key] = st["dropped"].get(key, 0) + n
        for key, table in ((source or "?", st["by_source"]), (level_bucket(level), st["by_level"])):
            row = table.setdefault(key, [0, 0])
            row[0] += n
            row[1] += n if kept else 0

    def merge(self, other: dict) -> None:
        for stage, st in other.items():
            mine = self._stage(stage)
            mine["in"] += st["in"]
            mine["out"] += st["out"]
            for k, v in st["dropped"].items():
                mine["dropped"][k] = mine["dropped"].get(k, 0) + v
            for name in ("by_source", "by_level"):
                for k, (a, b) in st[name].items():
                    row = mine[name].setdefault(k, [0, 0])
                    row[0] += a
                    row[1] += b

    def to_dict(self) -> dict:
        order = list(STAGES) + sorted(k for k in self.data if k not in STAGES)
        out = {}
        for k in order:
            if k in self.data:
                st = self.data[k]
                out[k] = dict(
                    st,
                    dropped=dict(sorted(st["dropped"].items())),
                    by_source=dict(sorted(st["by_source"].items())),
                    by_level=dict(sorted(st["by_level"].items(), key=lambda kv: _lvl_key(kv[0]))),
                )
        return out


def _lvl_key(k: str):
    return (1, 0) if k == "none" else (0, int(k))

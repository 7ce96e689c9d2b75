"""Data-scaling sweeps: ``redstar sweep SWEEP.yaml --out DIR`` (see redstar.sweep.cli)."""

"""``redstar demo``: the whole pipeline on CPU, driving each stage through its own command.

It sits above the stages it drives (curation, training, eval, the geometry and synthetic
worlds); nothing in them imports it.

- ``demo``: the steps, their plan, resume keys and timings, and the run;
- ``report``: the demo's report.md and before/after plot;
- ``geo_sets``: the geometry leg's problems written in the GeoQA and MathVista formats.
"""

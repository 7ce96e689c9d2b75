"""A synthetic long chain-of-thought world for data-scaling experiments on a laptop.

A tiny Qwen2 (3 layers, 0.22M parameters) trained from scratch on a thousand curated rows
learns the world on one CPU core in a few minutes, and a few dozen rows leave it at chance: ``configs/sweep_laptop.yaml`` runs
RedStar's data-scaling experiment on it; the README's ``redstar sweep`` section has the figures.

- ``world``: the problem family (a chain of labelled small additions, difficulty = number of steps),
  gold answers, a programmatic teacher writing ``<think>`` chains with controlled errors and
  truncations, and held-out eval items in the MATH row format;
- ``tiny``: a tokenizer built for the world and a random tiny Qwen2 model, saved as a normal
  Hugging Face directory with a chat template;
- ``build``: writes all of it (``python -m data_recipes.synthetic.build --out DIR``).

The shipped files under ``data/`` are what ``build`` writes with its defaults.
"""

"""A synthetic long chain-of-thought world for data-scaling experiments on a laptop.

Status: a tiny model trained from scratch within a laptop sweep's budget (a few hundred steps
per cell) learns the format and reads the problem but not the digit arithmetic, and scores at
chance; the README's ``redstar sweep`` section has the figures.

- ``world``: the problem family (a chain of digit operations, difficulty = number of steps),
  gold answers, a programmatic teacher writing ``<think>`` chains with controlled errors and
  truncations, and held-out eval items in the MATH row format;
- ``tiny``: a tokenizer built for the world and a random tiny Qwen2 model, saved as a normal
  Hugging Face directory with a chat template;
- ``build``: writes all of it (``python -m data_recipes.synthetic.build --out DIR``).

The shipped files under ``data/`` are what ``build`` writes with its defaults.
"""

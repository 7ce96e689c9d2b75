"""Benchmark loaders, one module per family of real formats (docs/data_contracts.md):
``math`` (MATH-Hard, MATH500, GSM8K), ``aime`` (2024, 2025), ``geoqa`` (G-LLaVA pair, pickles
behind an opt-in), ``mathvista`` (testmini JSON + images, or Parquet with embedded images) and
``geometry3k``. Each takes a local path or a hub id and returns a ``LoadResult``.
"""

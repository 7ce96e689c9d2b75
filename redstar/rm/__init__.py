"""Outcome reward models (AceMath-RM style): a causal LM with a scalar head on the last token.

- ``model``: ``RewardModel`` (build from any causal LM, save / reload in Hugging Face format).
- ``losses``: listwise Bradley-Terry (AceMath), pairwise Bradley-Terry, cross-entropy, MSE.
- ``data``: training groups from verified curation samples; the (question, response) encoder.
- ``train``: ``redstar rm train CONFIG.yaml``.
- ``score``: ``redstar rm score``; writes ``scores.rm`` onto Sample rows for the curators
  and for rm@k.
- ``rmk``: ``redstar rm rmk``; rm@k next to maj@k and the pass@k oracle, with a plot.
"""

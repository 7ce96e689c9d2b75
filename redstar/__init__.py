"""redstar: long chain-of-thought math reasoning, from curated data to leaderboard scores.

The shared core: records and IO, configs, answer verification, generation backends, model
loading, the training engine and the OpenRLHF bridge.
"""

__version__ = "0.1.0"

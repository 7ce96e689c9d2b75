"""The OpenRLHF bridge: export rows in its dataset shapes, the rule reward, job launch (see cli.py)."""

"""Experiment drivers: the runs behind the quality figures README.md and docs/ quote (see README.md here).

Run from the repository root as modules: `python -m experiments.NAME --help`.
"""

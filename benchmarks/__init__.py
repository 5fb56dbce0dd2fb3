"""Stage timings: each script times one stage against its peer and prints medians and ratios.

Run from the repository root as modules: `python -m benchmarks.NAME --help` (see README.md here).
"""

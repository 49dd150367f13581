"""Benchmarks (``make bench``); results are written to ``docs/benchmarks/``."""

"""Benchmarks behind `minhbach bench` and BENCHMARKS.md: each figure measured next to a baseline."""

"""Benchmarks: `make bench` (python -m bench [suite ...]) prints each suite's table."""

"""Benchmarks: run each with the command in its docstring; results go to docs/benchmarks.md."""

"""Benchmarks of the book's code; run ``python -m benchmarks.pipeline`` from the repository root."""

"""Developer tools for zmtp: benchmarks (``python -m tools.bench``) and helpers."""

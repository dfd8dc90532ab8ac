"""Benchmarks: speed and quality measurements run by hand (``python -m bench.<name>``), never by tests.

Results go to ``bench/results/`` as JSON (for machines) and Markdown (for people).
"""

"""Benchmarks of vital_connect: is the thin layer thin, and are big pulls fast?

Run ``python -m bench`` from the repository root; see :mod:`bench.run` and
``bench/RESULTS.md``.
"""

"""The benchmark suite of pgaudit_django (issue 6): ``python -m benchmarks --help``."""

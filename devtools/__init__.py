"""Development helpers for pgaudit_django (tests, demo, benchmarks); not shipped in the wheel."""

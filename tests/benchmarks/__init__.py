"""`python -m tests.benchmarks`: the performance figures behind docs/performance.md (not tests)."""

"""Resilience: circuit breakers, in-flight and rate limits, retries, the blocking-call pool."""

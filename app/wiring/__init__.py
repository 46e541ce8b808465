"""Composition: the configured backends, each behind its guard, and the service state."""

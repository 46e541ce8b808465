"""Strategies: the table of strategies, their prompts and the one runner for all."""

"""LLM judges: a jury of models that score each answer against its ground truth."""

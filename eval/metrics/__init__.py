"""Per-answer quality metrics computed after the answers are collected."""

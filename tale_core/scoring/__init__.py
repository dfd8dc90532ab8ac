"""Grading answers against gold answers."""

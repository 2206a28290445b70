"""Grading and learning analytics: extract, scores, submission analysis, execution logs, report."""

"""The gradebook: a SQLite store in the report folder (submissions, run records, verdicts per
key version, instructor overrides); the JSON/HTML reports, gradebook.csv and summary.md are
views written from it."""

from grader.gradebook.store import Gradebook, GRADEBOOK_NAME

__all__ = ["Gradebook", "GRADEBOOK_NAME"]

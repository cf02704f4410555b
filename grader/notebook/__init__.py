"""Reading notebooks without running them: cells as Python, static answers, matching."""

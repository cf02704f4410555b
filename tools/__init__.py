"""Maintainers' tools: run from the repository, never shipped in the grader's wheel."""

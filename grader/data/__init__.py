"""MNIST and other data the grader provides offline: import, bundled copy, sandbox-safe derived files."""

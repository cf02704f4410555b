"""The grading run: find submissions -> run each in a sandbox -> probe and evaluate -> judge -> report."""

class GraderError(Exception):
    """A failure of the grader or its input, said in one message."""

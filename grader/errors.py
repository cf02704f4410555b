"""The grader's own failures: what is wrong with the grading machine or the instructor's files,
never with a student's notebook (those go in that student's report)."""


class GraderError(Exception):
    """A failure that stops the grader. Its message is what a person reads: the cause, then the fix.

    The CLI shows it as one message without a traceback (grader/cli.py); the traceback goes to
    grader.log (grader/logfile.py).
    """

"""Feedback a student can act on: the cause of a failure (the cell that raised or was stopped,
and the line in the student's own code), hints for the chapters' common mistakes, small public
examples for `grade check`, and library noise to hide from the pages students read.

Pure functions of plain data (an executed notebook, model descriptions, accuracies): the
pipeline, `grade check` and the HTML report call them; nothing here runs student code.
"""

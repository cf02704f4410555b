"""`grade check NOTEBOOK`: a student's self-check, without the answer key.

Says for every item whether it is present and well-formed (answers, function types and shapes,
models that load with the right shapes, accuracy on a validation split), never whether an
answer is right.
"""

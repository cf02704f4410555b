"""Pure judging functions: turn what a student's code produced into scores and feedback."""

"""Taking in a class's submissions: LMS exports (Canvas, Moodle, Gradescope) and their zips.

`grader.notebook.match.find_submissions` is the entry point; this package reads the layouts.
"""

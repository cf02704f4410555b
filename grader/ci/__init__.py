"""CI output formats and the Gradescope bundle, fed by full grading and by `grade check`.

    cases.py              TestCase, cases_from_report (one case per item)
    junit.py              write_junit: JUnit XML for CI test viewers
    github.py             job summary, annotations, GitHub Classroom's runner result
    gradescope.py         results.json in Gradescope's format (schema: gradescope_schema.json)
    gradescope_bundle.py  autograder.zip for Gradescope, and what it runs there
"""

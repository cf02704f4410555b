"""The report stage: per-student JSON and HTML, the class gradebook and summary.

Output folder (default `grade-reports/`):
    <student>/<assignment>.json   Report.to_json(), schema in schema.json
    <student>/<assignment>.html   the executed notebook with scores and feedback
    gradebook.csv                 one row per student (gradebook-max.csv: the maximum scores)
    summary.md                    class statistics, who is missing, who could not be graded
    class.html                    the class at a glance (class_report.py)
    submissions.json              what intake found (facts.py); `grade export` reads these files
"""

from grader.report.files import (
    atomic_write_bytes,
    atomic_write_text,
    finished_reports,
    read_report_json,
    report_paths,
    safe_component,
    validate,
    write_report_json,
)
from grader.report.class_report import write_class_report
from grader.report.facts import read_reports, write_intake
from grader.report.gradebook import write_gradebook
from grader.report.html import render_html, write_report_html
from grader.report.summary import summary_rows, write_summary

DEFAULT_OUT = "grade-reports"

__all__ = [
    "DEFAULT_OUT",
    "atomic_write_bytes",
    "atomic_write_text",
    "finished_reports",
    "read_report_json",
    "render_html",
    "report_paths",
    "safe_component",
    "summary_rows",
    "read_reports",
    "validate",
    "write_class_report",
    "write_intake",
    "write_gradebook",
    "write_report_html",
    "write_report_json",
    "write_summary",
]

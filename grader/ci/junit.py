"""JUnit XML: one `<testsuite>` of one `<testcase>` per item, for CI test viewers.

The layout is the common one (Ant/Surefire, read by GitHub test-report actions, GitLab, Jenkins):
`<testsuites>` holding one `<testsuite name tests failures errors skipped time timestamp>`
with `<properties>` (score, max_score), and per item a `<testcase name classname time file line>`
holding `<properties>` (score, max_score), then `<failure message type>` for a failed item or
`<error message type>` for an error, and `<system-out>` with the message of a passed one.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from grader.ci.cases import TestCase
from grader.report.files import atomic_write_bytes
from grader.report.gradebook import format_number

# characters XML 1.0 cannot hold at all, even escaped (a notebook's output could contain them)
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
MESSAGE_ATTRIBUTE_LIMIT = 500  # the `message` attribute is a summary; the element text is whole


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _properties(parent: ET.Element, values: dict[str, str]) -> None:
    props = ET.SubElement(parent, "properties")
    for name, value in values.items():
        ET.SubElement(props, "property", name=name, value=value)


def junit_xml(
    cases: Sequence[TestCase],
    suite_name: str,
    *,
    duration_s: float = 0.0,
    timestamp: datetime | None = None,
) -> bytes:
    """The JUnit document as UTF-8 bytes (with an XML declaration)."""
    failures = sum(c.status == "failed" for c in cases)
    errors = sum(c.status == "error" for c in cases)
    score = sum(c.score for c in cases)
    max_score = sum(c.max_score for c in cases)
    counts = {
        "tests": str(len(cases)),
        "failures": str(failures),
        "errors": str(errors),
        "skipped": "0",
        "time": f"{max(0.0, duration_s):.3f}",
    }
    stamp = (timestamp or datetime.now(timezone.utc)).replace(microsecond=0).isoformat()
    root = ET.Element("testsuites", name=_clean(suite_name), **{k: v for k, v in counts.items() if k != "skipped"})
    suite = ET.SubElement(root, "testsuite", name=_clean(suite_name), timestamp=stamp, **counts)
    _properties(suite, {"score": format_number(score), "max_score": format_number(max_score)})
    for case in cases:
        attrs = {"name": _clean(case.name), "classname": _clean(case.classname), "time": "0.000"}
        if case.file:
            attrs["file"] = _clean(case.file)
        if case.line:
            attrs["line"] = str(case.line)
        element = ET.SubElement(suite, "testcase", attrs)
        _properties(element, {"score": format_number(case.score), "max_score": format_number(case.max_score)})
        message = _clean(case.message)
        points = f"{format_number(case.score)} / {format_number(case.max_score)} points"
        if case.status == "passed":
            ET.SubElement(element, "system-out").text = f"{points}. {message}".strip()
            continue
        tag = "failure" if case.status == "failed" else "error"
        summary = " ".join(message.split())
        if len(summary) > MESSAGE_ATTRIBUTE_LIMIT:
            summary = summary[: MESSAGE_ATTRIBUTE_LIMIT - 1] + "…"
        outcome = ET.SubElement(element, tag, message=summary or case.status, type=case.status)
        outcome.text = f"{points}.\n{message}"
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def write_junit(
    cases: Sequence[TestCase],
    path: str | os.PathLike,
    suite_name: str,
    *,
    duration_s: float = 0.0,
    timestamp: datetime | None = None,
) -> Path:
    """Write the JUnit XML file atomically (a temp file beside it, then os.replace)."""
    return atomic_write_bytes(path, junit_xml(cases, suite_name, duration_s=duration_s, timestamp=timestamp))

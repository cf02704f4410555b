"""A report's canonical JSON: what must be identical however the class was run.

Times and durations differ between any two runs; everything else in a report (scores, feedback,
problems, seed, data, versions) must not depend on -j, the cluster or the shards.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

TIME_KEYS = frozenset({"graded_at", "duration_s"})


def _without_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_times(v) for k, v in value.items() if k not in TIME_KEYS}
    if isinstance(value, list):
        return [_without_times(v) for v in value]
    return value


def canonical_report(report: dict[str, Any]) -> str:
    """The report's JSON (as in `<student>/<assignment>.json`) without times: sorted keys, no spaces."""
    return json.dumps(_without_times(report), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_reports(reports: Iterable[dict[str, Any]]) -> dict[str, str]:
    """{"student/assignment": canonical JSON} of several reports, to compare two runs at once."""
    return {f"{r['student']}/{r['assignment']}": canonical_report(r) for r in reports}

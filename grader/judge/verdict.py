"""The judgement of one part of an item."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Verdict:
    """The judgement of one part: score fraction, feedback for the student, plain numbers."""

    fraction: float  # 0..1 of the part's marks
    message: str  # one or two sentences for the student's report
    details: dict[str, Any] = field(default_factory=dict)  # JSON-able numbers
    error: bool = False  # the part could not be judged (kernel died, evaluator failed...)

    @property
    def passed(self) -> bool:
        return self.fraction >= 1.0

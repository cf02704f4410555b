"""Item analysis of one assignment: difficulty, discrimination, chosen options, common feedback.

Computed from graded reports only. Difficulty is an item's mean fraction of its points (1 = all
got it); discrimination is the correlation of the item's score with the rest of the score
(total minus the item): negative means stronger students did worse on it, often a wrong key.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass, field

from grader.records import PartResult, Report

MIN_FOR_DISCRIMINATION = 5  # graded students; below, a correlation is noise
_SINGLE = re.compile(r"^([A-Za-z]) is (not )?correct\.")
_SET = re.compile(r"^\{([A-Za-z](?:, [A-Za-z])*)?\}(?: is correct\.|:)")


@dataclass
class ItemStats:
    item: str
    title: str
    max_score: float
    n: int
    mean: float
    difficulty: float  # mean fraction of the points, 0..1
    discrimination: float | None  # item-rest correlation; None when it cannot be computed
    common_feedback: list[tuple[str, int]] = field(default_factory=list)  # (line, students)

    @property
    def negative(self) -> bool:
        return self.discrimination is not None and self.discrimination < 0


@dataclass
class ChoiceStats:
    """How many students chose each option of one multiple-choice part."""

    item: str
    label: str  # "answer_q1"
    counts: dict[str, int]  # option -> students who chose it (several per student for sets)
    answered: int  # students with a readable answer
    unanswered: int  # graded students without one
    key: set[str]  # the options of a full-marks answer, when some student had one


def chosen_options(part: PartResult) -> set[str] | None:
    """The options a student chose: `details["answer"]` first, else read from the feedback."""
    answer = part.details.get("answer") if isinstance(part.details, dict) else None
    if isinstance(answer, str) and answer.strip():
        return {answer.strip().upper()}
    if isinstance(answer, (list, tuple)) and all(isinstance(a, str) for a in answer):
        return {a.strip().upper() for a in answer}
    if match := _SINGLE.match(part.feedback):
        return {match[1].upper()}
    if match := _SET.match(part.feedback):
        return {x.strip().upper() for x in (match[1] or "").split(",") if x.strip()}
    return None


def _correlation(xs: list[float], ys: list[float]) -> float | None:
    if len(xs) < MIN_FOR_DISCRIMINATION:
        return None
    try:
        return statistics.correlation(xs, ys)
    except statistics.StatisticsError:  # no variance: everyone scored the same
        return None


def item_stats(reports: list[Report], top_feedback: int = 3) -> list[ItemStats]:
    """One entry per item, in the order the reports list them."""
    order: dict[str, tuple[str, float]] = {}
    for report in reports:
        for item in report.items:
            order.setdefault(item.id, (item.title, item.max_score))
    stats = []
    for item_id, (title, max_score) in order.items():
        scores, rests, feedback = [], [], Counter()
        for report in reports:
            item = next((i for i in report.items if i.id == item_id), None)
            if item is None:
                continue
            scores.append(item.score)
            rests.append(report.score - item.score)
            lines = {f"{p.label}: {p.feedback}" for p in item.parts if p.status != "passed" and p.feedback}
            feedback.update(lines)  # a set: each student counted once per line
        if not scores:
            continue
        mean = statistics.fmean(scores)
        stats.append(ItemStats(
            item_id, title, max_score, len(scores), mean,
            mean / max_score if max_score else 0.0,
            _correlation(scores, rests),
            feedback.most_common(top_feedback),
        ))
    return stats


def choice_stats(reports: list[Report]) -> list[ChoiceStats]:
    """Every part that reads as a multiple-choice answer in at least one report."""
    answers: dict[tuple[str, str], list[tuple[set[str] | None, PartResult]]] = {}
    for report in reports:
        for item in report.items:
            for part in item.parts:
                answers.setdefault((item.id, part.label), []).append((chosen_options(part), part))
    found = []
    for (item_id, label), given in answers.items():
        if all(chosen is None for chosen, _ in given):
            continue  # not a multiple-choice part
        entry = ChoiceStats(item_id, label, {}, 0, 0, set())
        for chosen, part in given:
            if chosen is None:
                entry.unanswered += 1
                continue
            entry.answered += 1
            for option in chosen:
                entry.counts[option] = entry.counts.get(option, 0) + 1
            if part.status == "passed" and part.max_score > 0:
                entry.key = set(chosen)
        entry.counts = dict(sorted(entry.counts.items()))
        found.append(entry)
    return found

"""class.html: the class at a glance, for the instructor.

Per assignment: the score distribution, each item's mean, difficulty and discrimination (a
flag where it is negative), how many chose each option of every multiple-choice question, and
the feedback lines most students got; then who is missing, late or not graded, and pairs of
similar submissions when given. Pictures are matplotlib PNGs embedded as data: URIs, each with
a text alternative; the page runs no script and loads nothing (the CSP of the student reports).
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import os
import statistics
from html import escape
from pathlib import Path
from typing import Any

from grader.records import Report, Submission
from grader.report.facts import ClassFacts, class_facts
from grader.report.files import atomic_write_text
from grader.report.gradebook import format_number
from grader.report.item_stats import ChoiceStats, ItemStats, choice_stats, item_stats

CLASS_REPORT = "class.html"
BINS = list(range(0, 101, 10))  # percent of the maximum score
_BLUE, _RED, _GREEN, _GREY = "#3b6ea5", "#c0392b", "#2e8b57", "#9aa5b1"

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 0; background: #fafafa; }
main { max-width: 1100px; margin: 0 auto; padding: 16px 24px 48px; background: #fff; }
h1 { font-size: 26px; margin: 8px 0; } h2 { font-size: 21px; margin: 32px 0 8px; border-bottom: 2px solid #e3e3e3; padding-bottom: 4px; }
h3 { font-size: 16px; margin: 22px 0 6px; }
.meta { color: #666; font-size: 13px; }
nav a { margin-right: 14px; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 14px; }
th, td { border: 1px solid #d0d0d0; padding: 4px 9px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
tr.flag td { background: #fdecea; } .flag-text { color: #a61b0b; font-weight: bold; }
.key { font-weight: bold; color: #1d6b3f; }
figure { margin: 8px 0 16px; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 13px; color: #555; }
.note { font-size: 13px; color: #555; max-width: 850px; }
.pair { border: 1px solid #d0d0d0; border-radius: 4px; margin: 10px 0 18px; padding: 8px 12px; }
.side { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; }
.side pre { background: #f6f8fa; padding: 6px 8px; margin: 4px 0; font-size: 12px; overflow-x: auto; white-space: pre-wrap; }
"""


# ---- pictures -------------------------------------------------------------------------------


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(fig, alt: str, caption: str) -> str:
    return (f'<figure><img src="{_png(fig)}" alt="{escape(alt)}">'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


def _new_figure(width: float, height: float):
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    return Figure(figsize=(width, height))


def distribution_figure(assignment: str, percents: list[float]) -> str:
    counts = [0] * (len(BINS) - 1)
    for p in percents:
        counts[min(int(p // 10), len(counts) - 1)] += 1  # 100% goes in the last bin
    fig = _new_figure(7, 2.6)
    ax = fig.add_subplot()
    ax.bar([b + 5 for b in BINS[:-1]], counts, width=9, color=_BLUE)
    ax.set_xticks(BINS)
    ax.set_xlim(0, 100)
    ax.set_xlabel("score, % of the maximum")
    ax.set_ylabel("students")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.spines[["top", "right"]].set_visible(False)
    mean = statistics.fmean(percents)
    ax.axvline(mean, color=_RED, linestyle="--", linewidth=1)
    right = mean > 60  # the label goes on the side with room
    ax.text(mean, max(counts) * 0.97, f" mean {mean:.0f}% " if right else f" mean {mean:.0f}%",
            color=_RED, va="top", ha="right" if right else "left", fontsize=9,
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
    bins = ", ".join(f"{lo}-{lo + 10}%: {c}" for lo, c in zip(BINS, counts) if c)
    alt = (f"Histogram of {assignment} scores for {len(percents)} graded students, mean {mean:.1f}%, "
           f"median {statistics.median(percents):.1f}%. Students per band: {bins}.")
    return _figure(fig, alt, f"{assignment}: scores of the graded notebooks (dashed: the mean)")


def items_figure(assignment: str, stats: list[ItemStats]) -> str:
    fig = _new_figure(9, 0.45 * len(stats) + 1.1)
    ax1, ax2 = fig.subplots(1, 2, sharey=True)
    labels = [s.item for s in stats][::-1]
    ax1.barh(labels, [s.difficulty for s in stats][::-1], color=_BLUE)
    ax1.set_xlim(0, 1)
    ax1.set_xlabel("difficulty: mean fraction of the points")
    values = [s.discrimination or 0 for s in stats][::-1]
    colors = [_RED if s.negative else (_GREY if s.discrimination is None else _GREEN) for s in stats][::-1]
    bars = ax2.barh(labels, values, color=colors)
    for bar, s in zip(bars, stats[::-1]):
        if s.negative:
            bar.set_hatch("//")
            ax2.text(0.02, bar.get_y() + bar.get_height() / 2, "negative: check the key", va="center", fontsize=8, color=_RED)
        elif s.discrimination is None:
            ax2.text(0.02, bar.get_y() + bar.get_height() / 2, "n/a", va="center", fontsize=8, color="#555")
    ax2.set_xlim(-1, 1)
    ax2.axvline(0, color="#333", linewidth=0.8)
    ax2.set_xlabel("discrimination: correlation with the rest")
    for ax in (ax1, ax2):
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    flagged = [s.item for s in stats if s.negative]
    alt = (f"Bar charts of the {len(stats)} items of {assignment}: difficulty from "
           f"{min(s.difficulty for s in stats):.2f} to {max(s.difficulty for s in stats):.2f}; "
           + (f"negative discrimination on {', '.join(flagged)}." if flagged else "no item discriminates negatively.")
           + " The table below gives every value.")
    return _figure(fig, alt, f"{assignment}: difficulty and discrimination per item (hatched red: negative)")


def choices_figure(assignment: str, choices: list[ChoiceStats]) -> str:
    columns = min(4, len(choices))
    rows = -(-len(choices) // columns)
    fig = _new_figure(2.6 * columns, 2.1 * rows)
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.flat[len(choices):]:
        ax.set_visible(False)
    for ax, c in zip(axes.flat, choices):
        options = list(c.counts)
        bars = ax.bar(options, [c.counts[o] for o in options], color=[_GREEN if o in c.key else _GREY for o in options])
        for bar, option in zip(bars, options):
            if option in c.key:
                bar.set_hatch("..")
        ax.set_title(f"{c.item} {c.label}", fontsize=9)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    parts = []
    for c in choices:
        counts = ", ".join(f"{o}: {n}" + (" (key)" if o in c.key else "") for o, n in c.counts.items())
        parts.append(f"{c.item} {c.label}: {counts}")
    alt = f"Bar charts of the options chosen in {assignment}. " + "; ".join(parts) + "."
    return _figure(fig, alt, f"{assignment}: students per option (green, dotted: the key, from a full-marks answer)")


# ---- tables ---------------------------------------------------------------------------------


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else format_number(round(value, digits))


def _items_table(stats: list[ItemStats]) -> str:
    rows = []
    for s in stats:
        flag = '<span class="flag-text">negative: check the key</span>' if s.negative else ""
        rows.append(
            f'<tr{" class=flag" if s.negative else ""}><td>{escape(s.item)}</td><td>{escape(s.title)}</td>'
            f'<td class="num">{format_number(s.max_score)}</td><td class="num">{s.n}</td>'
            f'<td class="num">{_num(s.mean)}</td><td class="num">{_num(s.difficulty)}</td>'
            f'<td class="num">{_num(s.discrimination)}</td><td>{flag}</td></tr>'
        )
    return ("<table><thead><tr><th>Item</th><th>Title</th><th>Max</th><th>Graded</th><th>Mean</th>"
            "<th>Difficulty</th><th>Discrimination</th><th></th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def _choices_table(choices: list[ChoiceStats]) -> str:
    options = sorted({o for c in choices for o in c.counts})
    head = "".join(f"<th>{escape(o)}</th>" for o in options)
    rows = []
    for c in choices:
        cells = "".join(
            f'<td class="num{" key" if o in c.key else ""}">{c.counts.get(o, 0)}{" ✓" if o in c.key else ""}</td>'
            for o in options
        )
        rows.append(f"<tr><td>{escape(c.item)}</td><td>{escape(c.label)}</td>{cells}"
                    f'<td class="num">{c.unanswered}</td></tr>')
    return (f"<table><thead><tr><th>Item</th><th>Answer</th>{head}<th>No readable answer</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _feedback_list(stats: list[ItemStats], graded: int) -> str:
    blocks = []
    for s in stats:
        if not s.common_feedback:
            continue
        lines = "".join(f"<li>{n} of {graded}: {escape(line)}</li>" for line, n in s.common_feedback)
        blocks.append(f"<li><b>{escape(s.item)}</b> {escape(s.title)}<ul>{lines}</ul></li>")
    return "<ul>" + "".join(blocks) + "</ul>" if blocks else "<p>Every graded part passed.</p>"


def _overview(facts: ClassFacts) -> str:
    rows = []
    for a in facts.assignments:
        entries = [facts.entry(s, a) for s in facts.students]
        graded = [e for e in entries if e.status == "graded"]
        percents = [100 * e.score / facts.max_scores[a] for e in graded if facts.max_scores[a]]
        late = [e for e in entries if _late_text(e)]
        count = lambda status: sum(e.status == status for e in entries)  # noqa: E731
        rows.append(
            f"<tr><td><a href='#a-{escape(a)}'>{escape(a)}</a></td><td class=num>{len(graded)}</td>"
            f"<td class=num>{count('not graded')}</td><td class=num>{count('missing')}</td>"
            f"<td class=num>{len(late)}</td>"
            f"<td class=num>{_num(statistics.fmean(percents), 1) + '%' if percents else 'n/a'}</td>"
            f"<td class=num>{_num(statistics.median(percents), 1) + '%' if percents else 'n/a'}</td></tr>"
        )
    return ("<table><thead><tr><th>Assignment</th><th>Graded</th><th>Not graded</th><th>Missing</th>"
            "<th>Late</th><th>Mean</th><th>Median</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _late_text(entry) -> str:
    late = entry.late
    if late and late.get("late_by_hours"):
        penalty = f"penalty {format_number(late.get('penalty_percent', 0))}%"
        return f"{penalty}: {late['reason']}" if late.get("reason") else f"{format_number(late['late_by_hours'])} h late, {penalty}"
    if entry.submission and entry.submission.lms_late:
        return f"marked late by {entry.submission.source.capitalize()} (no submission time in its export)"
    return ""


def _follow_up(facts: ClassFacts) -> str:
    sections = []
    for title, pick in (
        ("Missing", lambda e: e.reason if e.status == "missing" else ""),
        ("Not graded", lambda e: (e.reason or "could not be graded") if e.status == "not graded" else ""),
        ("Late", _late_text),
    ):
        rows = [
            f"<tr><td>{escape(s)}</td><td>{escape(a)}</td><td>{escape(text)}</td></tr>"
            for s in facts.students for a in facts.assignments
            if (text := pick(facts.entry(s, a)))
        ]
        body = (f"<table><thead><tr><th>Student</th><th>Assignment</th><th>Why</th></tr></thead>"
                f"<tbody>{''.join(rows)}</tbody></table>") if rows else "<p>None.</p>"
        sections.append(f"<h3>{title} ({len(rows)})</h3>{body}")
    return "".join(sections)


def _similar_section(pairs: list[Any] | None) -> str:
    if pairs is None:
        return ""
    from grader.similar import pairs_html

    return ("<h2 id='similar'>Similar submissions</h2><p class='note'>Pairs of notebooks whose own code "
            "(the assignment's stub code removed) shares unusually many fingerprints. Similar code "
            "has innocent causes (the book, a shared tutorial, working together as allowed); this "
            "changes no score and accuses no one: read the lines side by side and decide.</p>"
            + pairs_html(pairs))


def _assignment_section(facts: ClassFacts, assignment: str) -> str:
    graded: list[Report] = [
        facts.entry(s, assignment).report for s in facts.students if facts.entry(s, assignment).status == "graded"
    ]
    out = [f"<h2 id='a-{escape(assignment)}'>{escape(assignment)}</h2>"]
    if not graded:
        return out[0] + "<p>No graded notebook.</p>"
    maximum = facts.max_scores[assignment]
    percents = [100 * r.score / maximum for r in graded] if maximum else [0.0 for _ in graded]
    out.append(distribution_figure(assignment, percents))
    stats = item_stats(graded)
    out += ["<h3>Items</h3>", items_figure(assignment, stats), _items_table(stats),
            "<p class='note'>Difficulty: the mean fraction of an item's points (1: everyone got it). "
            "Discrimination: the correlation of the item's score with the rest of the score, over "
            "the graded notebooks (n/a below 5 students or when all scored alike). A negative value "
            "means stronger students did worse on the item: check its key.</p>"]
    choices = choice_stats(graded)
    if choices:
        out += ["<h3>Multiple-choice answers</h3>", choices_figure(assignment, choices), _choices_table(choices)]
    out += ["<h3>What the class got wrong</h3>", _feedback_list(stats, len(graded))]
    return "".join(out)


def class_report_html(facts: ClassFacts, similar: list[Any] | None = None, now: str | None = None) -> str:
    now = now or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    nav = " ".join(f"<a href='#a-{escape(a)}'>{escape(a)}</a>" for a in facts.assignments)
    nav += " <a href='#follow-up'>missing, late, not graded</a>" + (" <a href='#similar'>similar submissions</a>" if similar is not None else "")
    body = [
        f"<h1>Class report</h1><p class='meta'>{len(facts.students)} students, "
        f"{len(facts.assignments)} assignment(s). Written {escape(now)}.</p><nav>{nav}</nav>",
        _overview(facts),
        *(_assignment_section(facts, a) for a in facts.assignments),
        "<h2 id='follow-up'>Missing, late, not graded</h2>", _follow_up(facts),
        _similar_section(similar),
    ]
    return page("Class report", "".join(body))


def page(title: str, body: str) -> str:
    """A whole page: no script may run and nothing loads (CSP), images only as data: URIs."""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body><main>{body}</main></body></html>\n"
    )


def write_class_report(
    out: str | os.PathLike,
    reports: list[Report] | list[tuple[Report, dict]],
    submissions: list[Submission] = (),
    ungraded: list[tuple[str, str]] = (),
    roster: list = (),
    similar: list[Any] | None = None,
) -> Path:
    """Write `<out>/class.html` from the reports and what intake found (see facts.class_facts)."""
    facts = class_facts(reports, submissions, ungraded, roster)
    return atomic_write_text(Path(out) / CLASS_REPORT, class_report_html(facts, similar))

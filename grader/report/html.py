"""The HTML report: the student's executed notebook, with the score table on top and each
item's feedback right after the cell it concerns.

The page is nbconvert's "lab" template, self-contained and offline: its CSS is inlined, the
CDN scripts it would load (require.js, MathJax, mermaid, widgets) are left out, and a
Content-Security-Policy forbids any script or network fetch. Everything that comes from the
notebook goes through an allow-list sanitizer (bleach); the grader's own boxes are built with
every interpolated value escaped. Outputs are capped so a hostile notebook stays a small page.
"""

from __future__ import annotations

import ast
import html
import logging
import os
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any

import bleach
import nbformat
from bs4 import BeautifulSoup
from jinja2 import DictLoader
from nbconvert import HTMLExporter

from grader.feedback import causes, hints
from grader.feedback.details import plain_details
from grader.feedback.explain import explain
from grader.feedback.noise import without_noise
from grader.feedback.unreadable import how_to_fix, unreadable_problem
from grader.notebook.source import parse_cell
from grader.records import ItemResult, PartResult, Report
from grader.report.files import atomic_write_text, report_paths
from grader.report.gradebook import format_number
from grader.report.mathml import MATHML_ATTRIBUTES, MATHML_TAGS, latex_to_mathml
from grader.report.text import encodable, safe_data, safe_text

# Limits that keep one report page small whatever the notebook printed.
TEXT_LIMIT = 10_000  # characters of one text output (stream, text/plain, traceback)
RICH_TEXT_LIMIT = 100_000  # characters of one HTML / Markdown / LaTeX output
IMAGE_LIMIT = 1_000_000  # bytes of one image
OUTPUTS_PER_CELL = 50
NOTEBOOK_OUTPUT_BUDGET = 600_000  # characters of all outputs together: with its CSS, a page stays under 1 MB
SOURCE_LIMIT = 20_000  # characters of one cell's source

_TRUSTED = "homl_grader"  # cell-metadata mark of the grader's own HTML; student cells never keep it
_TEMPLATE_NAME = "homl_report.html.j2"
_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head -%}
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:">
{{ super() }}
{%- endblock html_head -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_css -%}<style type="text/css">{{ resources.grader_css }}</style>{%- endblock -%}
{% block rawcell scoped %}
{%- if cell.metadata.get('""" + _TRUSTED + """') -%}{{ cell.source }}{%- else -%}{{ super() }}{%- endif -%}
{%- endblock rawcell %}
"""

_CSS = """
main { max-width: 1100px; margin: 0 auto; }
.grader-report, .grader-feedback { font-family: var(--jp-ui-font-family, sans-serif);
  color: var(--jp-content-font-color1, #222); }
.grader-report { margin: 16px 0 24px; font-size: 14px; line-height: 1.45; }
.grader-report h1 { font-size: 22px; margin: 0 0 8px; }
.grader-report h2 { font-size: 18px; margin: 24px 0 8px; }
.grader-total { font-size: 18px; margin: 4px 0 12px; }
.grader-scores { border-collapse: collapse; margin: 8px 0; min-width: 60%; }
.grader-scores th, .grader-scores td { border: 1px solid #d0d0d0; padding: 4px 10px; text-align: left; }
.grader-scores th { background: #f3f3f3; }
.grader-scores td.grader-num { text-align: right; white-space: nowrap; }
.grader-scores tfoot td { font-weight: bold; }
.grader-meta { color: #666; font-size: 12px; margin: 8px 0; word-break: break-all; }
.grader-alert { border-left: 6px solid #b26a00; background: #fff4e5; padding: 8px 12px; margin: 8px 0; }
.grader-alert ul { margin: 4px 0 0; padding-left: 20px; }
.grader-feedback { border: 1px solid; border-left-width: 6px; border-radius: 4px;
  padding: 8px 12px; margin: 6px 0 14px 0; font-size: 14px; line-height: 1.45; }
.jp-Notebook .grader-feedback { margin-left: calc(var(--jp-cell-prompt-width, 64px) + 12px); }
.jp-Notebook .grader-report .grader-feedback { margin-left: 0; }
.grader-feedback ul { margin: 6px 0 0; padding-left: 20px; }
.grader-feedback li { margin: 2px 0; }
.grader-feedback code, .grader-report code { background: rgba(0,0,0,.06); padding: 0 3px;
  border-radius: 3px; font-size: 90%; white-space: pre-wrap; }
.grader-passed { border-color: #2e7d32; background: #e8f5e9; }
.grader-partial { border-color: #1f5fa8; background: #e8f0fa; }
.grader-failed { border-color: #c62828; background: #fdecea; }
.grader-error { border-color: #8a5300; background: #fff4e5; }
.grader-badge { display: inline-block; padding: 0 8px; border-radius: 9px; color: #fff;
  font-size: 12px; font-weight: bold; white-space: nowrap; }
.grader-badge.grader-passed { background: #2e7d32; }
.grader-badge.grader-partial { background: #1f5fa8; }
.grader-badge.grader-failed { background: #c62828; }
.grader-badge.grader-error { background: #8a5300; }
.grader-feedback h3 { display: inline; font-size: 14px; margin: 0; }
.grader-cause { margin: 6px 0 0; }
.grader-hint { margin: 4px 0 0; }
.grader-details { color: #444; font-size: 13px; margin: 4px 0 0; }
.grader-details summary { cursor: pointer; }
.grader-details ul { margin: 2px 0 0; }
.grader-stopped { border-left: 6px solid #8a5300; background: #fff4e5; padding: 4px 12px;
  margin: 0 0 8px calc(var(--jp-cell-prompt-width, 64px) + 12px); font-family: var(--jp-ui-font-family, sans-serif);
  font-size: 14px; }
.grader-banner { border: 2px solid #c62828; background: #fdecea; padding: 10px 14px; margin: 8px 0; }
.grader-banner p { margin: 4px 0; }
.grader-sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
/* AA contrast for JupyterLab's prompts and code colours on a white page (on body: it wins over
   the theme's :root, whichever style comes first) */
body { --jp-cell-prompt-not-active-opacity: 1; --jp-cell-prompt-not-active-font-color: #595959;
  --jp-cell-inprompt-font-color: #1a5a96; --jp-cell-outprompt-font-color: #a3361f;
  --jp-mirror-editor-comment-color: #3d6e6e; --jp-mirror-editor-operator-color: #8a2be2;
  --jp-mirror-editor-string-color: #a31515; --jp-mirror-editor-number-color: #0b6b0b;
  --jp-mirror-editor-keyword-color: #006400; --jp-mirror-editor-builtin-color: #006400;
  --jp-mirror-editor-variable-2-color: #1a4f8a; --jp-mirror-editor-meta-color: #8a2be2; }
.jp-RenderedText pre .ansi-red-fg { color: #b22222; }
"""

# What the notebook may show: HTML tags and attributes that cannot run code or fetch anything.
_TAGS = bleach.ALLOWED_TAGS | {
    *"p div span pre br hr h1 h2 h3 h4 h5 h6 img sub sup del s u small mark q cite kbd".split(),
    *"table thead tbody tfoot tr th td caption colgroup col dl dt dd details summary".split(),
    *"figure figcaption".split(),
    *MATHML_TAGS,
}
_DROPPED_WITH_CONTENT = ["script", "style", "template", "noscript", "iframe", "object", "svg", "maction"]
_OUTPUT_TYPES = (
    "text/html", "text/markdown", "text/latex", "image/svg+xml", "image/png", "image/jpeg", "text/plain"
)
_IMAGE_TYPES = ("image/png", "image/jpeg")
_quiet_log = logging.getLogger(__name__ + ".nbconvert")
_quiet_log.setLevel(logging.ERROR)  # nbconvert warns about every image without alt text


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    if tag in MATHML_TAGS:
        return name in MATHML_ATTRIBUTES and "(" not in value  # no url(...) or expressions
    if name in ("class", "id"):
        return "grader" not in value  # a student cannot dress up as the grader's feedback
    if name == "title" or (tag in ("td", "th") and name in ("colspan", "rowspan", "align")):
        return True
    if tag == "a" and name == "href":
        return not value.strip().lower().startswith("data:")
    if tag == "img" and name == "src":
        return value.startswith("data:image/")  # no network, no local files
    return tag == "img" and name in ("alt", "width", "height")


def clean_html(text: Any) -> str:
    """Notebook HTML reduced to the allow-list (replaces nbconvert's, which drops <p>, <h1>...)."""
    text = text.decode() if isinstance(text, bytes) else str(text)
    soup = BeautifulSoup(text, "html.parser")
    for element in soup(_DROPPED_WITH_CONTENT):  # bleach would keep their text, e.g. CSS rules
        element.decompose()
    return bleach.clean(
        str(soup),
        tags=_TAGS,
        attributes=_allowed_attribute,
        protocols=bleach.ALLOWED_PROTOCOLS | {"data"},
        strip=True,
    )


# ---- which cell each item concerns -------------------------------------------------------


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _defines(tree: ast.Module, label: str) -> bool:
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == label:
            return True
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if any((a.asname or a.name.split(".")[0]) == label for a in node.names):
                return True
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        for target in targets:
            if any(isinstance(n, ast.Name) and n.id == label for n in ast.walk(target)):
                return True
    return False


def _names_file(text: str, label: str) -> bool:
    return text == label or re.split(r"[/\\]", text)[-1] == label  # "models/mnist_model.keras"


def _mentions(tree: ast.Module, label: str) -> bool:
    return any(
        isinstance(n, ast.Constant) and isinstance(n.value, str) and _names_file(n.value, label)
        for n in ast.walk(tree)
    )


@dataclass(frozen=True)
class _CodeCell:
    index: int  # in the notebook
    source: str
    tree: ast.Module | None  # None: not valid Python


def _code_cells(cells: list[dict]) -> list[_CodeCell]:
    return [
        _CodeCell(i, source, parse_cell(source))
        for i, cell in enumerate(cells)
        if cell.get("cell_type") == "code" and (source := _source(cell))
    ]


def _match(cell: _CodeCell, label: str) -> str | None:
    """"defines", "mentions" or None: how a code cell concerns `label`."""
    if cell.tree is not None:
        if _defines(cell.tree, label):
            return "defines"
        return "mentions" if _mentions(cell.tree, label) else None
    name = re.escape(label)  # not valid Python: look at the text instead
    if re.search(rf"^(?:{name}\s*:|{name}\s*=(?!=)|(?:def|class)\s+{name}\b)", cell.source, re.M):
        return "defines"
    return "mentions" if re.search(rf"[\"'](?:[^\"'\n]*[/\\])?{name}[\"']", cell.source) else None


def part_cell(code_cells: list[_CodeCell], label: str) -> int | None:
    """Index of the last code cell defining `label` (else of the last naming it in a string)."""
    found: dict[str, int] = {}
    for cell in code_cells:
        kind = _match(cell, label) if label else None
        if kind:
            found[kind] = cell.index
    return found.get("defines", found.get("mentions"))


def item_cells(items: list[ItemResult], cells: list[dict]) -> dict[int, int]:
    """item index -> index of the cell after which its feedback goes (the last of its parts')."""
    code_cells = _code_cells(cells)  # parsed once for all labels
    placed = {}
    for i, item in enumerate(items):
        found = [c for c in (part_cell(code_cells, p.label) for p in item.parts) if c is not None]
        if found:
            placed[i] = max(found)
    return placed


# ---- the grader's own HTML -----------------------------------------------------------------


def _text(value: Any) -> str:
    """Escaped text, with `code` spans kept as <code> (feedback quotes code that way)."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(str(value)))


def _points(score: float, max_score: float) -> str:
    return f"{format_number(score)} / {format_number(max_score)}"


# status as text and a symbol, never by colour alone
_SHOWN = {"passed": "✓ passed", "partial": "◐ partial", "failed": "✗ failed", "error": "! error",
          "not graded": "— not graded"}


def shown_status(status: str, score: float, max_score: float) -> str:
    """passed / partial / failed / error: "partial" for a failed item or part that earned points."""
    return "partial" if status == "failed" and 0 < score < max_score else status


def _badge(status: str) -> str:
    shown = _SHOWN.get(status, status)
    kind = "error" if status == "not graded" else status
    return f'<span class="grader-badge grader-{html.escape(kind)}">{html.escape(shown)}</span>'


def _details(details: dict) -> str:
    shown = plain_details(details)
    if not shown:
        return ""
    lines = "".join(f"<li>{html.escape(line)}</li>" for line in shown)
    return f'<details class="grader-details"><summary>Details</summary><ul>{lines}</ul></details>'


def _part_line(part: PartResult, alone: bool, cause: causes.CellFailure | None) -> str:
    # a lone part's status and points are the item's, already in the box's first line
    status = shown_status(part.status, part.score, part.max_score)
    scored = "" if alone else f"{_badge(status)} "
    points = "" if alone else f" {_points(part.score, part.max_score)}"
    feedback = causes.strip_cause(part.feedback, cause) if cause else part.feedback
    feedback, *given = feedback.split(" Hint: ")  # hints the verdict gave (checks/base.call_failed)
    found = given + (hints.error_hints("", feedback) if part.status != "passed" else [])
    found = [h for h in dict.fromkeys(found) if h not in (cause.hints if cause else ()) and h not in feedback]
    shown = "".join(f'<p class="grader-hint"><strong>Hint:</strong> {_text(h)}</p>' for h in found)
    return (
        f"<li>{scored}<code>{html.escape(part.label)}</code>{points}: "
        f"{_text(feedback)}{shown}{_details(part.details)}</li>"
    )


def _override_line(item: ItemResult) -> str:
    if not item.override:
        return ""
    comment = f": {_text(item.override['comment'])}" if item.override.get("comment") else ""
    return (
        f'<p class="grader-override"><strong>Score set by your instructor</strong> '
        f"(the grader gave {format_number(item.override['auto_score'])}){comment}</p>"
    )


def _cause_lines(cause: causes.CellFailure | None) -> str:
    if cause is None:
        return ""
    said = f'<p class="grader-cause"><strong>Cause:</strong> {_text(cause.sentence())}</p>'
    return said + "".join(f'<p class="grader-hint"><strong>Hint:</strong> {_text(h)}</p>' for h in cause.hints)


def _item_box(index: int, item: ItemResult, cause: causes.CellFailure | None = None) -> str:
    status = shown_status(item.status, item.score, item.max_score)
    cause = cause if item.status != "passed" else None
    lines = "".join(_part_line(p, len(item.parts) == 1, cause) for p in item.parts)
    return (
        f'<div class="grader-feedback grader-{html.escape(status)}" id="grader-item-{index}">'
        f"<h3>{html.escape(item.id)} {html.escape(item.title)}</h3> · "
        f"<strong>{_points(item.score, item.max_score)}</strong> {_badge(status)}"
        f"{_override_line(item)}{_cause_lines(cause)}<ul>{lines}</ul></div>"
    )


def _score_table(report: Report, unreadable: bool = False) -> str:
    rows = "".join(
        f'<tr><th scope="row"><a href="#grader-item-{i}">{html.escape(item.id)}</a></th>'
        f"<td>{html.escape(item.title)}</td>"
        f'<td class="grader-num">{_points(item.score, item.max_score)}</td>'
        f"<td>{_badge('not graded' if unreadable else shown_status(item.status, item.score, item.max_score))}"
        f"{' (set by your instructor)' if item.override else ''}</td></tr>"
        for i, item in enumerate(report.items)
    )
    return (
        '<table class="grader-scores"><caption class="grader-sr">Score of each item</caption>'
        '<thead><tr><th scope="col">Item</th><th scope="col">Title</th><th scope="col">Score</th>'
        f'<th scope="col">Status</th></tr></thead><tbody>{rows}</tbody>'
        f'<tfoot><tr><th scope="row" colspan="2">Total</th>'
        f'<td class="grader-num">{_points(report.score, report.max_score)}</td><td></td></tr></tfoot>'
        "</table>"
    )


def _short_hashes(text: str) -> str:
    return re.sub(r"\b([0-9a-f]{12})[0-9a-f]{52}\b", r"\1…", text)  # the JSON has them whole


def _banner(problem: str) -> str:
    """The one message for a notebook that could not be read, with how to fix it."""
    return (
        '<div class="grader-banner" role="alert"><p><strong>This notebook could not be read, so nothing in it '
        f"was graded.</strong> {_text(problem)}</p><p>{_text(how_to_fix(problem))}</p></div>"
    )


def _header(report: Report, notes: list[str], unreadable: str | None = None) -> str:
    percent = 100 * report.score / report.max_score if report.max_score else 0.0
    alerts = []
    if report.sandbox == "none":
        alerts.append(
            "<strong>Warning: graded without a sandbox.</strong> "
            "The notebook ran with the grader's own permissions."
        )
    problems = [p for p in [*report.problems, *notes] if not unreadable or unreadable not in p]
    if problems:
        items = "".join(f"<li>{_text(p)}</li>" for p in problems)
        alerts.append(f"<strong>Problems with this notebook</strong><ul>{items}</ul>")
    data = "; ".join(f"{k}: {_short_hashes(v)}" for k, v in report.data.items())
    meta = (
        f"Graded {report.graded_at} by homl-grader {report.grader_version} in "
        f"{format_number(round(report.duration_s, 1))} s · seed {report.seed} · "
        f"sandbox: {report.sandbox} · notebook sha256 {_short_hashes(report.submission_sha256) or '?'}"
        + (f" · data: {data}" if data else "")
    )
    machine = "".join(f'<p class="grader-meta">Grading machine: {_text(note)}</p>' for note in report.machine_notes)
    return (
        '<div class="grader-report">'
        f"<h1>{html.escape(report.assignment)} · {html.escape(report.student)}</h1>"
        f'<div class="grader-total">Score: <strong>{_points(report.score, report.max_score)}</strong>'
        f" ({format_number(round(percent, 1))}%)</div>"
        + (_banner(unreadable) if unreadable else "")
        + "".join(f'<div class="grader-alert">{a}</div>' for a in alerts)
        + _score_table(report, bool(unreadable))
        + f'<p class="grader-meta">{html.escape(meta)}</p>{machine}</div>'
    )


def _untied(boxes: list[str], title: str) -> str:
    return f'<div class="grader-report"><h2>{title}</h2>{"".join(boxes)}</div>'


def _trusted_cell(markup: str):
    return nbformat.v4.new_raw_cell(markup, metadata={"raw_mimetype": "text/html", _TRUSTED: True})


# ---- the student's cells, copied with capped outputs ---------------------------------------


def _note(text: str):
    return nbformat.v4.new_output("stream", name="stdout", text=f"[{text}]\n")


def _truncate(text: str, limit: int = TEXT_LIMIT) -> str:
    if len(text) <= limit:
        return text
    head, tail = text[: limit * 7 // 10], text[-(limit * 3 // 10) :]  # the end: final epoch...
    omitted = len(text) - len(head) - len(tail)
    return f"{head}\n… output truncated: {omitted:,} of {len(text):,} characters not shown …\n{tail}"


def _joined(value: Any) -> str:
    return "".join(map(str, value)) if isinstance(value, list) else str(value)


def _image_size(output: dict, mime: str) -> dict:
    """The only output metadata kept: others, e.g. "filenames", could point outside the page."""
    metadata = (output.get("metadata") or {}).get(mime) or {}
    return {k: v for k, v in metadata.items() if k in ("width", "height") and isinstance(v, int)}


def _data_output(output: dict):
    data, kept, notes = output.get("data") or {}, {}, []
    for mime in _OUTPUT_TYPES:
        if mime not in data:
            continue
        value = _joined(data[mime])
        if mime == "text/plain":
            kept[mime] = _truncate(value)
        elif mime in _IMAGE_TYPES and not _fits(value):
            notes.append(f"{mime} image not shown: {len(value) * 3 / 4e6:.1f} MB, over the 1 MB limit")
        elif mime not in _IMAGE_TYPES and len(value) > (IMAGE_LIMIT if "svg" in mime else RICH_TEXT_LIMIT):
            notes.append(f"{mime} output not shown: {len(value):,} characters, over the limit")
        else:
            kept[mime] = value
    if notes:
        kept["text/plain"] = "\n".join(f"[{n}]" for n in notes) + "\n" + kept.get("text/plain", "")
    if not kept:
        return _note(f"output not shown: {', '.join(sorted(data)) or 'empty'}")
    metadata = {mime: _image_size(output, mime) for mime in _IMAGE_TYPES if mime in kept}
    if output.get("output_type") == "execute_result":
        return nbformat.v4.new_output("execute_result", data=kept, metadata=metadata, execution_count=None)
    return nbformat.v4.new_output("display_data", data=kept, metadata=metadata)


def _merged_streams(outputs: Iterable[dict]) -> Iterator[dict]:
    """Consecutive prints to one stream as one output, as Jupyter shows them."""

    def key(output: dict) -> Any:
        return ("stream", output.get("name")) if output.get("output_type") == "stream" else id(output)

    for _, group in groupby(outputs, key):
        group = list(group)
        if len(group) == 1:
            yield group[0]
        else:
            text = "".join(_joined(o.get("text", "")) for o in group)
            yield {"output_type": "stream", "name": group[0].get("name"), "text": text}


def _terminal_text(text: str) -> str:
    """Each line as a terminal leaves it: "\r" rewrites the line (progress bars).

    Like nbconvert's CoalesceStreamsPreprocessor, but linear: its regex can take quadratic time.
    """
    if "\r" not in text:
        return text
    return "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in text.split("\n"))


def _capped_output(output: dict):
    kind = output.get("output_type")
    if kind == "stream":
        name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
        # colours dropped: terminal colours on the error background fail AA contrast
        text = causes.strip_ansi(_terminal_text(_joined(output.get("text", ""))))
        if name == "stderr":  # TensorFlow's banners are not the student's error
            text = without_noise(text)
            if not text.strip():
                return None
        return nbformat.v4.new_output("stream", name=name, text=_truncate(text))
    if kind == "error":
        traceback = _truncate(causes.strip_ansi("\n".join(map(str, output.get("traceback") or []))))
        return nbformat.v4.new_output(
            "error",
            ename=_truncate(str(output.get("ename", "")), 200),
            evalue=_truncate(str(output.get("evalue", "")), 2_000),
            traceback=traceback.split("\n"),
        )
    if kind in ("display_data", "execute_result"):
        return _data_output(output)
    return None


def _fits(image: Any) -> bool:
    return len(_joined(image)) * 3 // 4 <= IMAGE_LIMIT  # base64: 4 characters per 3 bytes


def _size(output) -> int:
    return len(str(output))


class _Budget:
    """Characters of output left for the whole notebook."""

    def __init__(self, total: int = NOTEBOOK_OUTPUT_BUDGET):
        self.left = total

    def outputs(self, outputs: Iterable[dict]) -> list:
        kept, outputs = [], list(_merged_streams(outputs))
        for output in outputs[:OUTPUTS_PER_CELL]:
            capped = _capped_output(output)
            if capped is None:
                continue
            if _size(capped) > self.left:
                kept.append(_note("output not shown: this page's output budget is used up"))
                self.left = 0
                continue
            self.left -= _size(capped)
            kept.append(capped)
        if len(outputs) > OUTPUTS_PER_CELL:
            kept.append(_note(f"{len(outputs) - OUTPUTS_PER_CELL:,} more outputs not shown"))
        return kept


def _capped_source(source: str, note_prefix: str) -> str:
    if len(source) <= SOURCE_LIMIT:
        return source
    omitted = len(source) - SOURCE_LIMIT
    return f"{source[:SOURCE_LIMIT]}\n{note_prefix}… source truncated: {omitted:,} characters not shown"


def _copied_cell(cell: dict, budget: _Budget):
    """A fresh cell holding only what the page shows: no metadata, capped source and outputs."""
    kind, source = cell.get("cell_type"), safe_text(_source(cell))
    if kind == "code":
        count = cell.get("execution_count")
        return nbformat.v4.new_code_cell(
            _capped_source(source, "# "),
            # terminal colours kept for nbconvert; only what cannot be written goes
            outputs=safe_data(budget.outputs(cell.get("outputs") or []), encodable),
            execution_count=count if isinstance(count, int) else None,
        )
    if kind == "markdown":
        copy = nbformat.v4.new_markdown_cell(latex_to_mathml(_capped_source(source, "\n")))
        attachments = {
            name: {m: v for m, v in (data or {}).items() if m in _IMAGE_TYPES and _fits(v)}
            for name, data in (cell.get("attachments") or {}).items()
        }
        if attachments:
            copy["attachments"] = safe_data(attachments, encodable)
        return copy
    if kind == "raw":  # as nbconvert shows raw cells: as (sanitized) HTML
        return nbformat.v4.new_raw_cell(_capped_source(source, ""))
    return None


# ---- the page --------------------------------------------------------------------------------


def item_cell_lists(items: list[ItemResult], cells: list[dict]) -> dict[str, list[int]]:
    """item id -> the code cells that define (else name) its parts: where to look for a cause
    when the notebook lacks the item's question heading."""
    code_cells = _code_cells(cells)
    found = {}
    for item in items:
        found[item.id] = [c for c in (part_cell(code_cells, p.label) for p in item.parts) if c is not None]
    return found


def item_causes(items: list[ItemResult], cells: list[dict]) -> dict[str, causes.CellFailure]:
    """item id -> the cell that raised or was stopped among the item's cells, with its hints."""
    return explain(cells, [i.id for i in items], item_cell_lists(items, cells))


def _stopped_note(seconds: float, cell: dict) -> str:
    interrupted = any(o.get("ename") == "KeyboardInterrupt" for o in cell.get("outputs") or [])
    shown = " (the KeyboardInterrupt above is the grader's)" if interrupted else ""
    return (
        f'<div class="grader-stopped" role="note"><strong>Stopped by the grader after {format_number(seconds)} s:</strong> '
        f"this cell ran past the time limit of one cell{shown}.</div>"
    )


def report_notebook(report: Report, executed_nb) -> nbformat.NotebookNode:
    """The notebook that becomes the page: header, student cells, feedback boxes."""
    cells = list((executed_nb or {}).get("cells") or [])
    placed = item_cells(report.items, cells)
    found = item_causes(report.items, cells)
    after: dict[int, list[str]] = {}
    for i, cell_index in placed.items():
        item = report.items[i]
        after.setdefault(cell_index, []).append(_item_box(i, item, found.get(item.id)))
    unreadable = None
    if executed_nb is None:
        unreadable = unreadable_problem([p.feedback for item in report.items for p in item.parts])
    untied = [
        _item_box(i, item, found.get(item.id))
        for i, item in enumerate(report.items)
        if i not in placed and not unreadable  # unreadable: the banner and the table say it all
    ]

    notes = [] if executed_nb is not None or unreadable else [
        "The notebook itself is not shown: it could not be read or run."
    ]
    stopped = causes.stopped_cells(cells)
    page = [_trusted_cell(_header(report, notes, unreadable))]
    budget = _Budget()
    for index, cell in enumerate(cells):
        copy = _copied_cell(cell, budget)
        if copy is not None:
            page.append(copy)
        if index in stopped:
            page.append(_trusted_cell(_stopped_note(stopped[index], cell)))
        page += [_trusted_cell(box) for box in after.get(index, [])]
    if untied:
        title = "Feedback not tied to a cell" if cells else "Feedback"
        page.append(_trusted_cell(_untied(untied, title)))

    metadata = {"language_info": {"name": "python", "pygments_lexer": "ipython3"}}
    return nbformat.v4.new_notebook(cells=page, metadata=metadata)


_per_thread = threading.local()


def _exporter() -> HTMLExporter:
    """One exporter per thread, kept: compiling the templates takes most of a render."""
    if not hasattr(_per_thread, "exporter"):
        _per_thread.exporter = _new_exporter()
    return _per_thread.exporter


def _find_base_templates() -> None:
    """A venv made with --system-site-packages has nbconvert's templates under the base
    installation, where nbconvert (which looks under sys.prefix) does not find them."""
    base = Path(sys.base_prefix) / "share" / "jupyter"
    if sys.base_prefix != sys.prefix and (base / "nbconvert" / "templates").is_dir():
        paths = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
        if str(base) not in paths:
            os.environ["JUPYTER_PATH"] = os.pathsep.join([*paths, str(base)])


def _new_exporter() -> HTMLExporter:
    _find_base_templates()
    return HTMLExporter(
        template_name="lab",
        template_file=_TEMPLATE_NAME,
        extra_loaders=[DictLoader({_TEMPLATE_NAME: _TEMPLATE})],
        sanitize_html=True,  # the template then never emits a student's JavaScript output
        filters={"clean_html": clean_html},
        log=_quiet_log,
    )


def _export(nb, report: Report) -> str:
    resources = {
        "metadata": {"name": f"{report.assignment} · {report.student}"},
        "grader_css": _CSS,
    }
    body, _ = _exporter().from_notebook_node(nb, resources=resources)
    return body


def render_html(report: Report, executed_nb) -> str:
    """The report page; `executed_nb` None (not readable or not run) gives scores and feedback only."""
    report = safe_data(report)  # a no-op once the pipeline made it safe; the page never depends on that
    try:
        return _export(report_notebook(report, executed_nb), report)
    except Exception as error:  # a notebook nbconvert cannot render still gets its scores
        if executed_nb is None:
            raise
        note = f"The notebook could not be shown ({type(error).__name__}: {error})."
        nb = report_notebook(report, None)
        nb.cells[0] = _trusted_cell(_header(report, [note]))
        return _export(nb, report)


def write_report_html(out: str | os.PathLike, report: Report, executed_nb) -> Path:
    _, html_path = report_paths(out, report.student, report.assignment)
    return atomic_write_text(html_path, render_html(report, executed_nb))

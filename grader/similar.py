"""Similar submissions: pairs of notebooks whose own code is unusually alike.

Each notebook's code cells are joined and fingerprinted by copydetect (winnowing over k-grams
of the normalised token stream, as MOSS does: names become V/F/O, strings S, comments and
whitespace dropped, so renaming variables or reordering cells changes nothing). Fingerprints of
the assignment's stub are removed first, so the code every student was given never counts.
A pair is listed when the share of its code found in the other notebook, averaged over the two,
reaches the threshold. It changes no score and accuses no one: it shows the matching lines side
by side for a person to judge.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_right
from dataclasses import dataclass, field
from html import escape
from itertools import combinations
from pathlib import Path
from typing import Any

NOISE = 25  # k: matches shorter than this many normalised characters are ignored
GUARANTEE = 30  # matches at least this long are always found (window = GUARANTEE - NOISE + 1)
THRESHOLD = 0.5  # mean share of the two notebooks' code found in the other
MIN_BLOCK_LINES = 2  # shown side by side from this many lines
MAX_CODE_CHARS = 200_000  # of a notebook's code compared (a real notebook has under 50,000): bounds time and memory
SHOWN_LINES = 30  # of one block on one side; a whole notebook alike needs no more to be seen


@dataclass
class Block:
    """One stretch of matching code: 1-based inclusive line ranges and their text."""

    lines_a: tuple[int, int]
    lines_b: tuple[int, int]
    text_a: str
    text_b: str


@dataclass
class Pair:
    assignment: str
    student_a: str
    student_b: str
    share_a: float  # of a's code, the part found in b
    share_b: float
    blocks: list[Block] = field(default_factory=list)

    @property
    def score(self) -> float:
        return (self.share_a + self.share_b) / 2


def notebook_code(path: str | Path) -> str:
    """The notebook's code cells, joined; IPython magics and shell lines left out. "" if unreadable
    or over the grader's size limit for a notebook (it is not graded either)."""
    from grader.notebook.load import MAX_NOTEBOOK_MB

    try:
        if Path(path).stat().st_size > MAX_NOTEBOOK_MB * 2**20:
            return ""
        nb = json.loads(Path(path).read_bytes().decode("utf-8-sig"))
    except (OSError, ValueError, RecursionError):
        return ""
    return code_of(nb)


def code_of(nb: Any) -> str:
    """notebook_code() of a notebook already read (a dict, or nbformat's NotebookNode)."""
    cells = nb.get("cells", []) if isinstance(nb, dict) else []
    sources = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        sources.append("\n".join(lines))
    return ("\n\n".join(sources) + "\n")[:MAX_CODE_CHARS]


@dataclass
class _Fingerprint:
    """What copydetect's compare_files reads of a CodeFingerprint."""

    k: int
    filtered_code: str
    offsets: Any  # numpy array: copydetect's map from normalised to raw offsets
    hashes: set[int]
    hash_idx: dict[int, list[int]]  # hash -> its positions in filtered_code
    token_coverage: int


def _kgram_hashes(text: str, k: int):
    """Hashes of every k-gram, the same in every process (copydetect's use `hash()`, which
    Python salts per process, so its results would change from run to run)."""
    import numpy as np

    return np.array(
        [int.from_bytes(hashlib.blake2b(text[i : i + k].encode(), digest_size=8).digest(), "little", signed=True)
         for i in range(len(text) - k + 1)],
        dtype=np.int64,
    )


def _fingerprint(code: str, boilerplate: set[int] | None = None) -> _Fingerprint:
    """copydetect's fingerprint of Python code (normalised, winnowed), boilerplate hashes removed."""
    from copydetect.utils import filter_code, get_token_coverage, winnow

    filtered, offsets = filter_code(code, "notebook.py", "python")
    hashes, idx = winnow(_kgram_hashes(filtered, NOISE), GUARANTEE - NOISE + 1, remove_duplicates=False)
    hash_idx: dict[int, list[int]] = {}
    for value, place in zip(hashes.tolist(), idx.tolist()):
        if not boilerplate or value not in boilerplate:
            hash_idx.setdefault(value, []).append(place)
    return _Fingerprint(NOISE, filtered, offsets, set(hash_idx), hash_idx, get_token_coverage(hash_idx, NOISE, len(filtered)))


def _raw(fp, slices):
    """Slices of the normalised code -> character offsets in the raw code (copydetect's own mapping)."""
    import numpy as np

    slices = np.array(slices, dtype=int)
    if slices.size and len(fp.offsets):
        slices = slices + fp.offsets[:, 1][np.clip(np.searchsorted(fp.offsets[:, 0], slices), 0, fp.offsets.shape[0] - 1)]
    return slices


class _Lines:
    def __init__(self, code: str):
        self.lines = code.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def span(self, start: int, end: int) -> tuple[int, int]:
        first = bisect_right(self.starts, start)
        last = bisect_right(self.starts, max(start, end - 1))
        return first, max(first, last)

    def text(self, span: tuple[int, int]) -> str:
        return "".join(self.lines[span[0] - 1 : span[1]]).rstrip("\n")


def _densest(positions: list[int], gap: int) -> tuple[int, int]:
    """The first and last of the largest run of `positions` with no gap over `gap`."""
    positions = sorted(positions)
    runs, start = [], 0
    for n in range(1, len(positions) + 1):
        if n == len(positions) or positions[n] - positions[n - 1] > gap:
            runs.append((n - start, positions[start], positions[n - 1]))
            start = n
    _, first, last = max(runs)
    return first, last


def _blocks(fa, fb, code_a: str, code_b: str) -> list[Block]:
    """Each matching stretch of a, beside the stretch of b where its fingerprints occur."""
    from copydetect.utils import find_fingerprint_overlap, get_copied_slices

    idx_a, _ = find_fingerprint_overlap(fa.hashes, fb.hashes, fa.hash_idx, fb.hash_idx)
    hash_at_a = {i: h for h, places in fa.hash_idx.items() for i in places}
    slices_a = get_copied_slices(idx_a, fa.k)
    lines_a, lines_b = _Lines(code_a), _Lines(code_b)
    raw_a = _raw(fa, slices_a)
    blocks, seen = [], set()
    for n, (start, end) in enumerate(zip(*slices_a)):
        shared = {hash_at_a[p] for p in idx_a if start <= p < end} & fb.hashes
        first, last = _densest([q for h in shared for q in fb.hash_idx[h]], 3 * fb.k)
        raw_b = _raw(fb, [[first], [last + fb.k]])
        span_a = lines_a.span(int(raw_a[0][n]), int(raw_a[1][n]))
        span_b = lines_b.span(int(raw_b[0][0]), int(raw_b[1][0]))
        if span_a[1] - span_a[0] + 1 < MIN_BLOCK_LINES or (span_a, span_b) in seen:
            continue
        seen.add((span_a, span_b))
        blocks.append(Block(span_a, span_b, lines_a.text(span_a), lines_b.text(span_b)))
    return blocks


def _without_stub_lines(code: str, stub: str) -> str:
    """`code` with every line the stub also has turned into spaces of the same length, so every
    character keeps its offset and the matches map back to the student's own lines.

    Winnowing's boilerplate removal alone misses a stub k-gram that a student's own code
    repeats; a line given to every student is never evidence.
    """
    given = {line.strip() for line in stub.splitlines() if line.strip()}
    out = []
    for line in code.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        out.append(" " * len(body) + line[len(body):] if body.strip() in given else line)
    return "".join(out)


def similar_pairs(
    notebooks: list[tuple[str, str, str]], stubs: dict[str, str] | None = None, threshold: float = THRESHOLD
) -> list[Pair]:
    """Pairs of (student, assignment, code) of one assignment at or above `threshold`, most alike first.

    `stubs` maps an assignment to its stub notebook's code, whose fingerprints are removed.
    """
    from copydetect import compare_files

    stubs = stubs or {}
    by_assignment: dict[str, list[tuple[str, str]]] = {}
    for student, assignment, code in notebooks:
        by_assignment.setdefault(assignment, []).append((student, code))
    pairs = []
    for assignment, group in sorted(by_assignment.items()):
        stub = stubs.get(assignment, "")
        boilerplate = _fingerprint(stub).hashes if stub.strip() else None
        prints = [
            (student, code, _fingerprint(_without_stub_lines(code, stub), boilerplate)) for student, code in sorted(group)
        ]
        for (sa, ca, fa), (sb, cb, fb) in combinations(prints, 2):
            if not len(fa.hashes) or not len(fb.hashes):
                continue
            _, (share_a, share_b), _ = compare_files(fa, fb)
            pair = Pair(assignment, sa, sb, float(share_a), float(share_b))
            if pair.score >= threshold:
                pair.blocks = _blocks(fa, fb, ca, cb)
                pairs.append(pair)
    return sorted(pairs, key=lambda p: -p.score)


def _clip(text: str) -> str:
    lines = text.splitlines()
    if len(lines) <= SHOWN_LINES:
        return text
    return "\n".join(lines[:SHOWN_LINES]) + f"\n... ({len(lines) - SHOWN_LINES} more matching lines)"


def pairs_html(pairs: list[Pair]) -> str:
    """The pairs as HTML: a summary table, then each pair's matching lines side by side."""
    if not pairs:
        return "<p>No pair of notebooks is unusually alike.</p>"
    rows = "".join(
        f"<tr><td>{escape(p.assignment)}</td><td>{escape(p.student_a)}</td><td>{escape(p.student_b)}</td>"
        f"<td class=num>{p.share_a:.0%}</td><td class=num>{p.share_b:.0%}</td><td class=num>{len(p.blocks)}</td></tr>"
        for p in pairs
    )
    out = [f"<table><thead><tr><th>Assignment</th><th>A</th><th>B</th><th>A's code found in B</th>"
           f"<th>B's code found in A</th><th>Matching blocks</th></tr></thead><tbody>{rows}</tbody></table>"]
    for p in pairs:
        sides = "".join(
            f"<div>lines {b.lines_a[0]}-{b.lines_a[1]}<pre>{escape(_clip(b.text_a))}</pre></div>"
            f"<div>lines {b.lines_b[0]}-{b.lines_b[1]}<pre>{escape(_clip(b.text_b))}</pre></div>"
            for b in p.blocks
        )
        out.append(f"<div class='pair'><b>{escape(p.assignment)}: {escape(p.student_a)} and {escape(p.student_b)}</b>"
                   f"<div class='side'><div><b>{escape(p.student_a)}</b></div><div><b>{escape(p.student_b)}</b></div>{sides}</div></div>")
    return "".join(out)


def write_pairs_page(path: str | Path, pairs: list[Pair]) -> Path:
    """A page of its own for `grade similar --out`, styled like class.html."""
    from grader.report.class_report import page
    from grader.report.files import atomic_write_text

    body = "<h1>Similar submissions</h1>" + pairs_html(pairs)
    return atomic_write_text(path, page("Similar submissions", body))


def stub_code(solutions: Path | None) -> dict[str, str]:
    """{assignment: code of the stub students were given}, made from the solution notebooks as
    `grade assign` makes the stubs (so no stub folder is needed)."""
    from grader.assign.generate import student_notebook
    from grader.assign.spec import load_solution

    stubs = {}
    for path in sorted(Path(solutions).glob("*.ipynb")) if solutions else ():
        try:
            stub, spec = student_notebook(load_solution(path)[0])
        except Exception:  # a solution `grade assign` would refuse: its stub code counts as the students' own
            continue
        stubs[spec.id] = code_of(stub)
    return stubs


def class_pairs(submissions: list, solutions: Path | None, cache: Path | None = None, threshold: float = THRESHOLD) -> list[Pair]:
    """similar_pairs() of a class run's submissions (.student, .assignment, .path, .sha256), stub code
    removed. With `cache` (a JSON file), pairs are kept there and found again only when a notebook,
    a stub or the threshold changed: a regrade of a large class does not compare every pair again."""
    stubs = stub_code(solutions)
    digest = hashlib.sha256(json.dumps([
        THRESHOLD, threshold, NOISE, GUARANTEE, sorted(stubs.items()),
        sorted((s.student, s.assignment, s.sha256) for s in submissions),
    ]).encode()).hexdigest()
    if cache is not None:
        try:
            kept = json.loads(cache.read_text(encoding="utf-8"))
            if kept["digest"] == digest:
                return [Pair(**{**p, "blocks": [Block(**b) for b in p["blocks"]]}) for p in kept["pairs"]]
        except (OSError, ValueError, KeyError, TypeError):
            pass
    notebooks = [(s.student, s.assignment, notebook_code(s.path)) for s in submissions]
    pairs = similar_pairs(notebooks, stubs, threshold)
    if cache is not None:
        from dataclasses import asdict

        from grader.report.files import atomic_write_text

        atomic_write_text(cache, json.dumps({"digest": digest, "pairs": [asdict(p) for p in pairs]}))
    return pairs

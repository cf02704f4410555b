"""LaTeX in markdown ($...$, $$...$$) as MathML, at report time: browsers render MathML without
any script or font download, so the report stays script-free and offline."""

from __future__ import annotations

import re

from latex2mathml.converter import convert

# code (fenced or inline) is left alone: `$HOME` is not math
_CODE = re.compile(r"(```.*?```|~~~.*?~~~|`+[^`]*`+)", re.S)
_MATH = re.compile(r"(?<![\\$])\$\$(.+?)\$\$|(?<![\\$])\$(?!\s)([^$\n]+?)(?<![\s\\])\$(?!\d)", re.S)
MAX_FORMULA = 2_000  # characters: a longer "formula" is shown as written


def _mathml(match: re.Match) -> str:
    block, inline = match.group(1), match.group(2)
    latex = block if block is not None else inline
    if len(latex) > MAX_FORMULA:
        return match.group(0)
    try:
        markup = convert(latex.strip(), display="block" if block is not None else "inline")
    except Exception:  # not LaTeX latex2mathml knows: shown as the student wrote it
        return match.group(0)
    markup = markup.replace("\n", "")
    # a block formula gets its own lines, so markdown takes it as an HTML block, not a paragraph
    return f"\n\n{markup}\n\n" if block is not None else markup


def latex_to_mathml(markdown: str) -> str:
    """`markdown` with each formula outside code replaced by MathML."""
    if "$" not in markdown:
        return markdown
    parts = _CODE.split(markdown)
    return "".join(part if i % 2 else _MATH.sub(_mathml, part) for i, part in enumerate(parts))


# MathML presentation elements and attributes the sanitizer keeps (none can run code or fetch)
MATHML_TAGS = frozenset(
    "math mrow mi mn mo ms mtext mspace msub msup msubsup munder mover munderover mfrac msqrt "
    "mroot mstyle mtable mtr mtd mpadded mphantom menclose semantics annotation merror".split()
)
MATHML_ATTRIBUTES = frozenset(
    "xmlns display mathvariant stretchy fence separator lspace rspace accent accentunder "
    "columnalign rowalign columnspacing rowspacing displaystyle scriptlevel width height depth "
    "linethickness notation largeop movablelimits symmetric form minsize maxsize encoding".split()
)

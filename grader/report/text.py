"""Text from a submission made safe to write: every report string goes through here once.

A notebook can put anything in a string the grader repeats: a lone surrogate (`"\\ud800"` in a
markdown cell's JSON, in an exception message, a file name that is not UTF-8 read back as
`"\\udcff"`) cannot be encoded as UTF-8, and terminal control characters would reach the
instructor's terminal and the gradebook. Both are replaced or removed here.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from typing import Any, Callable

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")
# C0 and C1 control characters, DEL; a line break and a tab are kept
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def encodable(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD (a valid surrogate pair is joined)."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def safe_text(text: Any) -> str:
    """`text` as a string writable as UTF-8, without control characters other than \\n and \\t."""
    if not isinstance(text, str):
        text = str(text)
    return _CONTROL.sub("", encodable(text))


def safe_data(value: Any, clean: Callable[[str], str] = safe_text) -> Any:
    """`value` with `clean` (`safe_text`) applied to every string in it, keys included: dicts, lists,
    tuples, sets and dataclass instances are rebuilt; numbers, None and other objects are kept."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return type(value)((safe_data(k, clean), safe_data(v, clean)) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return type(value)(safe_data(v, clean) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        made = copy.copy(value)
        for f in dataclasses.fields(value):
            object.__setattr__(made, f.name, safe_data(getattr(value, f.name), clean))  # frozen ones too
        return made
    return value

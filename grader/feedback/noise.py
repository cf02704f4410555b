"""Library noise on stderr that is not the student's doing: TensorFlow's absl/oneDNN/CUDA banners
and the sandbox's missing font config. Hidden from the pages students read (it shows in pink
under the import cell, like an error); the executed notebook keeps it for the instructor.

Only known banners are dropped, never a whole log level: an absl "E0000" line may be a real error.
"""

from __future__ import annotations

import re

_BANNERS = [
    r"All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    r"oneDNN custom operations are on",
    r"oneDNN supports DT_\w+ only on platforms with",
    r"This TensorFlow binary is optimized to use available CPU instructions",
    r"To enable the following instructions: .* rebuild TensorFlow",
    r"Could not find cuda drivers on your machine",
    r"failed call to cuInit",
    r"Unable to register cu(?:DNN|FFT|BLAS) factory",
    r"TF-TRT Warning: Could not find TensorRT",
    r"computation placer already registered",
    r"Fontconfig error: Cannot load default config file",
    r"Matplotlib is building the font cache",
]
_NOISE = re.compile("|".join(_BANNERS))


def is_noise(line: str) -> bool:
    return bool(_NOISE.search(line))


def without_noise(text: str) -> str:
    """`text` without its known library banners (whole lines)."""
    if not _NOISE.search(text):
        return text
    return "".join(line for line in text.splitlines(keepends=True) if not is_noise(line))

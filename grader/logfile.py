"""grader.log in the report folder: what happened, with tracebacks, for whoever runs the grader.

People read one sentence per failure on the terminal (grader/cli.py); the details go here.
"""

from __future__ import annotations

import logging
from pathlib import Path

NAME = "grader.log"
LOGGER = "homl_grader"


def open_log(folder: Path, verbose: bool = False) -> logging.Logger:
    """The grader's logger, writing to `folder`/grader.log (appended: a rerun adds to it); with
    `verbose`, also to stderr. Calling it again points it at the new folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger(LOGGER)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    to_file = logging.FileHandler(folder / NAME, encoding="utf-8", errors="backslashreplace")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    to_file.setLevel(logging.DEBUG)
    logger.addHandler(to_file)
    if verbose:
        to_stderr = logging.StreamHandler()
        to_stderr.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        to_stderr.setLevel(logging.DEBUG)
        logger.addHandler(to_stderr)
    return logger


def logger() -> logging.Logger:
    """The grader's logger (writes nowhere until open_log() is called)."""
    return logging.getLogger(LOGGER)

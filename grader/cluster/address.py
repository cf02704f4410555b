"""`--cluster` values: where the jobs of a class run.

    local:N           a Dask LocalCluster of N worker processes on this machine
    tcp://HOST:PORT   an existing Dask scheduler (its workers must see the submissions' paths)
    slurm             Dask workers started as Slurm jobs by dask-jobqueue (see SlurmSettings)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["local", "scheduler", "slurm"]

_LOCAL = re.compile(r"^local:(\d+)$")
_SCHEDULER = re.compile(r"^(tcp|tls)://[^\s:/]+:\d+$")


@dataclass(frozen=True)
class ClusterAddress:
    kind: Kind
    workers: int = 0  # local: worker processes
    address: str = ""  # scheduler: tcp://HOST:PORT


def parse_cluster(text: str) -> ClusterAddress:
    """Parse a --cluster value; ValueError says the three accepted forms."""
    text = text.strip()
    if match := _LOCAL.match(text):
        n = int(match[1])
        if n < 1:
            raise ValueError("--cluster local:N needs N >= 1 worker processes")
        return ClusterAddress("local", workers=n)
    if _SCHEDULER.match(text):
        return ClusterAddress("scheduler", address=text)
    if text == "slurm":
        return ClusterAddress("slurm")
    raise ValueError(f"--cluster {text!r}: use local:N, tcp://HOST:PORT (a running Dask scheduler) or slurm")

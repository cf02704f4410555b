"""`grade merge DIR...`: bring the run records of shard folders into one report folder.

Each shard (`grade SUBMISSIONS --shard K/N --out DIR`) ran its share and kept its run records in
DIR/runs/ and DIR/gradebook. Merging copies every record into the merged folder and registers it
there; the class is then graded as usual, which judges every stored record without running
anything (a submission no shard ran is run then). The shards must agree on what a record depends
on: the seed and the submissions folder.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from grader.gradebook import GRADEBOOK_NAME, Gradebook

RUNS = "runs"


@dataclass
class ShardFacts:
    seed: int
    submissions: Path
    last_run: dict  # limits, check settings, course of the first shard
    isolation: str  # what the shards' records ran in: part of every run plan, so merge plans the same


def _isolation(folder: Path, last_run: dict) -> str:
    for record in sorted((Path(folder) / RUNS).glob("*/record.json")):
        environment = json.loads(record.read_text()).get("plan", {}).get("environment", {})
        if environment.get("isolation"):
            return environment["isolation"]
    return "bubblewrap" if last_run.get("sandboxed", True) else "none"


def shard_facts(dirs: list[Path]) -> ShardFacts:
    """What the shards share; ValueError naming the folder when one is not a shard or disagrees."""
    facts = None
    for folder in dirs:
        path = Path(folder) / GRADEBOOK_NAME
        if not path.is_file():
            raise ValueError(f"{folder}: no {GRADEBOOK_NAME}; is it the --out of a `grade --shard` run?")
        store = Gradebook(path)
        try:
            seed, last_run = store.get("seed"), store.get("last_run") or {}
        finally:
            store.close()
        current = ShardFacts(seed, Path(last_run.get("submissions", "")), last_run, _isolation(folder, last_run))
        if facts is None:
            facts = current
        elif (current.seed, current.submissions) != (facts.seed, facts.submissions):
            raise ValueError(
                f"{folder} graded {current.submissions} with seed {current.seed}, {dirs[0]} graded "
                f"{facts.submissions} with seed {facts.seed}: give every shard the same SUBMISSIONS and --seed"
            )
    if facts is None:
        raise ValueError("give at least one shard folder")
    return facts


def import_records(dirs: list[Path], out: Path) -> int:
    """Copy every shard's run records into out/runs and register them in out's gradebook; how many."""
    runs = Path(out) / RUNS
    runs.mkdir(parents=True, exist_ok=True)
    store = Gradebook(Path(out) / GRADEBOOK_NAME)
    count = 0
    try:
        for folder in dirs:
            if Path(folder).resolve() == Path(out).resolve():
                continue
            for record in sorted((Path(folder) / RUNS).glob("*/record.json")):
                source = record.parent
                if source.name.startswith("."):  # a record being written when the shard stopped
                    continue
                data = json.loads(record.read_text())
                target = runs / source.name
                if not target.exists():
                    temp = runs / f".{source.name}.merge"
                    shutil.rmtree(temp, ignore_errors=True)
                    shutil.copytree(source, temp)
                    temp.rename(target)
                store.add_run(source.name, data["submission"]["sha256"], data["plan_digest"], str(target), data.get("duration_s"))
                count += 1
    finally:
        store.close()
    return count

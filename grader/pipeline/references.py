"""Reference builds for builder checks: the solution's builder run by the evaluator (trusted
code, no student's), cached in the gradebook so regrading builds nothing it built before."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

from grader.gradebook import Gradebook
from grader.run.stage import scratch_root
from grader.sandbox.cleanup import make_root, remove_quietly
from grader.sandbox.evaluator import Evaluator
from grader.sandbox.limits import Limits


class ReferenceBuilds:
    def __init__(self, store: Gradebook | None, limits: Limits, sandboxed: bool, isolation: str | None = None):
        self.store = store  # None: remembered for this process only
        self.memory: dict[str, dict] = {}
        self.limits = limits
        self.sandboxed = sandboxed
        self.isolation = isolation if sandboxed else None
        self.lock = threading.Lock()
        self.evaluator: Evaluator | None = None
        self.built = 0  # evaluator builds in this run (the rest came from the cache)

    def __call__(self, source: str, function: str, args: list) -> dict | None:
        digest = hashlib.sha256(json.dumps([source, function, args]).encode()).hexdigest()
        cached = self.store.reference(digest) if self.store else self.memory.get(digest)
        if cached is not None:
            return cached
        with self.lock:
            if self.evaluator is None:
                folder = make_root(scratch_root())
                self.evaluator = Evaluator(folder, self.limits, self.sandboxed, None, isolation=self.isolation)
            evaluation = self.evaluator.evaluate(None, None, {"source": source, "function": function, "args": args})
            self.built += 1
        if not evaluation.ok or evaluation.reference is None:
            return None
        if self.store:
            self.store.add_reference(digest, evaluation.reference)
        self.memory[digest] = evaluation.reference
        return evaluation.reference

    def close(self) -> None:
        if self.evaluator is not None:
            self.evaluator.close()
            remove_quietly(self.evaluator.exchange)

"""Run one notebook of flood cells (floods.py) in a real sandbox, in a process of its own, and
print that process's peak memory (VmHWM: it is the process that talks to the kernel) as JSON.

    python tests/hostile/flood_run.py FOLDER FLOOD...
"""

import json
import re
import sys
import time
from pathlib import Path

from nbformat.v4 import new_code_cell, new_notebook

sys.path.insert(0, str(Path(__file__).resolve().parent))
import floods  # noqa: E402

from grader.sandbox.execute import run_notebook  # noqa: E402
from grader.sandbox.kernel import KernelPlan  # noqa: E402
from grader.sandbox.limits import Limits  # noqa: E402
from grader.sandbox.space import sandbox_space  # noqa: E402

LIMITS = Limits(cell_timeout=20, notebook_timeout=150, memory_mb=1024, max_processes=64)


def main(folder: str, names: list[str]) -> None:
    cells = [new_code_cell(floods.ALL[name]) for name in names] + [new_code_cell("print('ALIVE')")]
    started = time.monotonic()
    with sandbox_space(folder, LIMITS) as space:
        execution = run_notebook(new_notebook(cells=cells), KernelPlan(space.work, space.io, LIMITS, True, space=space))
    status = Path("/proc/self/status").read_text()
    print(json.dumps({
        "peak_mb": int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024,
        "seconds": round(time.monotonic() - started, 1),
        "outputs": ["".join(o.get("text", "") for o in cell.outputs) for cell in execution.notebook.cells],
        "problems": execution.problems(),
    }))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])

"""How much an honest training cell suffers from a notebook that starts busy loops with setsid,
with and without the per-sandbox CPU cgroup (grader/sandbox/cgroup.py).

Two real sandboxes run at once, as `grade -j 2` runs them: an honest notebook that trains a small
Keras model on MNIST (its cell times `fit` itself), and a hostile one that starts BUSY processes
with their own session (`start_new_session=True`, i.e. setsid) spinning forever. Three rows:

- `alone`: the honest notebook by itself;
- `no cpu cgroup`: beside the hostile one, sandboxes outside any cpu cgroup (the grader before
  the CPU limit: each setsid'd process is a scheduler autogroup of its own);
- `cpu cgroup, quota`: beside the hostile one, each sandbox in its own cpu cgroup with a quota of
  `--cpus` cores (the default: `threads`, 1 with -j 2 on 2 cores).

    python benchmarks/cpu_share.py [--busy 30] [--cpus 1] [--repeat 1]

Needs bubblewrap and writable cgroups (cpu controller); TensorFlow in the kernel.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from nbformat.v4 import new_code_cell, new_notebook

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grader.data import mnist  # noqa: E402
from grader.sandbox import cgroup  # noqa: E402
from grader.sandbox.execute import run_notebook  # noqa: E402
from grader.sandbox.kernel import KernelPlan  # noqa: E402
from grader.sandbox.limits import Limits  # noqa: E402
from grader.sandbox.space import sandbox_space  # noqa: E402

HONEST = [
    "import time, tensorflow as tf\n"
    "(x, y), _ = tf.keras.datasets.mnist.load_data()\n"
    "x, y = x[:20000] / 255.0, y[:20000]\n"
    "model = tf.keras.Sequential([tf.keras.Input((28, 28)), tf.keras.layers.Flatten(),\n"
    "    tf.keras.layers.Dense(300, activation='relu'), tf.keras.layers.Dense(100, activation='relu'),\n"
    "    tf.keras.layers.Dense(10, activation='softmax')])\n"
    "model.compile(loss='sparse_categorical_crossentropy', optimizer='adam')",
    "started = time.perf_counter()\n"
    "model.fit(x, y, epochs=3, batch_size=64, verbose=0)\n"
    "print('FIT', round(time.perf_counter() - started, 2))",
]


def hostile(busy: int):
    return [
        "import subprocess, sys, time\n"
        f"loops = [subprocess.Popen([sys.executable, '-c', 'while True: pass'], start_new_session=True) for _ in range({busy})]\n"
        "time.sleep(600)"
    ]


def run(cells, limits: Limits, results: dict, key: str, stop: threading.Event | None = None) -> None:
    with tempfile.TemporaryDirectory(dir="/dev/shm") as parent, sandbox_space(parent, limits) as space:
        plan = KernelPlan(space.work, space.io, limits, True, mnist.sandbox_files().notebook_npz, space=space)
        execution = run_notebook(new_notebook(cells=[new_code_cell(c) for c in cells]), plan, stop=stop)
    text = "".join(o.get("text", "") for c in execution.notebook.cells for o in c.outputs)
    results[key] = float(text.split("FIT ", 1)[1].split()[0]) if "FIT " in text else None


def pair(busy: int, limits: Limits) -> float | None:
    results: dict = {}
    stop = threading.Event()
    bad = threading.Thread(target=run, args=(hostile(busy), limits, results, "hostile", stop))
    bad.start()
    time.sleep(8)  # the loops are spinning before the honest kernel starts
    run(HONEST, limits, results, "honest")
    stop.set()
    bad.join()
    return results["honest"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", type=int, default=30)
    parser.add_argument("--cpus", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    if not cgroup.supported():
        sys.exit("needs writable cgroups")
    limits = Limits(cell_timeout=400, notebook_timeout=500, memory_mb=2048, max_processes=256, threads=1, cpus=args.cpus)
    rows: dict[str, list] = {"alone": [], "no cpu cgroup": [], "cpu cgroup, quota": []}
    cpu_dir = cgroup._v1_cpu_dir
    for _ in range(args.repeat):
        results: dict = {}
        run(HONEST, limits, results, "honest")
        rows["alone"].append(results["honest"])
        cgroup._v1_cpu_dir = lambda: None  # the grader before the CPU limit (v1 hosts, like this one)
        try:
            rows["no cpu cgroup"].append(pair(args.busy, limits))
        finally:
            cgroup._v1_cpu_dir = cpu_dir
        rows["cpu cgroup, quota"].append(pair(args.busy, limits))
    load = os.getloadavg()
    print(json.dumps({"busy": args.busy, "cpus": args.cpus, "fit_seconds": rows, "loadavg": load}, indent=1))


if __name__ == "__main__":
    main()

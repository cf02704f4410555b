"""Grading a class on more than one process or machine.

The unit of distributed work is a *job*: plain JSON-able data naming one submission (and what
running it needs: plan, limits, isolation, versions). A job function runs it in its sandbox and
returns the files of its run record; judging stays in the instructor's process, so keys and the
hidden labels never reach a worker.

    address.py     `--cluster` values: local:N, tcp://HOST:PORT, slurm
    shards.py      `--shard K/N`: which submissions a shard runs
    preflight.py   the check every worker passes before it gets work (swappable)
    executor.py    running jobs: a local thread pool, or a Dask cluster (retries, Ctrl-C)
    dask_cluster.py  starting or joining the Dask cluster an address names
    plugin.py      the Dask worker plugin: preflight, thread pinning, the `grader` resource
    threads.py     TensorFlow/BLAS threads per worker process
    run.py         run_jobs(): the one call for the `grade` command
    progress.py    done / running / failed / time left
    canonical.py   a report's canonical JSON, for comparing runs (no times, no durations)
    class_run.py   run_on_cluster(): the cluster route of a class run (run_class.grade_class)
    merge.py       `grade merge`: the shards' run records into one report folder
"""

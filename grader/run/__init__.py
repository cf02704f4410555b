"""The run stage: run one submission in its sandbox and keep what the judges need as a run record.

plan.py    what a run must do (calls and their inputs, models to evaluate), and its digest
static.py  answers read from the notebook without running it, as plain data
stage.py   the Runner: sandboxed kernel, probe, evaluator -> a RunRecord
record.py  the run record: JSON + npz + the executed notebook, written atomically
"""

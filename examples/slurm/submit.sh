#!/bin/bash
# Grade a class on Slurm as N array tasks, then one merge job once all of them succeeded.
#   examples/slurm/submit.sh SUBMISSIONS OUT N [SEED]
# SOLUTIONS (the answer keys' folder) and GRADE_OPTIONS (more `grade` options) are passed on if set;
# edit the #SBATCH lines of the two scripts for your cluster (partition, cores, memory, time).
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 SUBMISSIONS OUT N [SEED]" >&2
    exit 1
fi
here=$(cd "$(dirname "$0")" && pwd)
export SUBMISSIONS=$(realpath "$1") OUT=$(realpath -m "$2") SEED=${4:-$RANDOM$RANDOM}
mkdir -p "$OUT"
array=$(sbatch --parsable --array=1-"$3" --chdir="$OUT" --export=ALL "$here/grade-shard.sbatch")
merge=$(sbatch --parsable --dependency=afterok:"$array" --kill-on-invalid-dep=yes --chdir="$OUT" --export=ALL "$here/grade-merge.sbatch")
echo "shards: job $array (tasks 1-$3), merge: job $merge; reports in $OUT/reports"

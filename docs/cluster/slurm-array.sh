#!/usr/bin/env bash
# One shard of a qscore corpus run per Slurm array task.
#
#   sbatch --array=0-15 --export=ALL,MANIFEST=/shared/corpus/manifest.csv,OUTDIR=/shared/scores \
#       docs/cluster/slurm-array.sh
#
# Each task scores the rows whose key falls in its shard into OUTDIR/part_I.parquet.
# A task that is preempted, requeued or killed resumes where it stopped when it runs
# again, so --requeue is safe. Combine the parts with docs/cluster/slurm-merge.sh.
#SBATCH --job-name=qscore-batch
#SBATCH --cpus-per-task=8
#SBATCH --mem=8G
#SBATCH --time=24:00:00
#SBATCH --requeue
#SBATCH --output=qscore-batch-%A_%a.log
set -euo pipefail

: "${MANIFEST:?set MANIFEST to the manifest (CSV or JSONL) on shared storage}"
: "${OUTDIR:?set OUTDIR to a folder on shared storage}"
METRICS="${METRICS:-psnr,ssim,ms_ssim,ssimulacra2,butteraugli}"
QSCORE="${QSCORE:-qscore}"

index="${SLURM_ARRAY_TASK_ID:?run this as a Slurm array job (sbatch --array=0-N)}"
# Shards are numbered from 0; the array must be 0..count-1.
count="${SLURM_ARRAY_TASK_COUNT:-$((SLURM_ARRAY_TASK_MAX - SLURM_ARRAY_TASK_MIN + 1))}"
if [[ "${SLURM_ARRAY_TASK_MIN:-0}" != 0 ]]; then
    echo "qscore-batch: the array must start at 0 (got ${SLURM_ARRAY_TASK_MIN})" >&2
    exit 1
fi
mkdir -p "$OUTDIR"

# Each task keeps its own capability cache (measurements are per machine type anyway).
export QSCORE_CACHE_DIR="${QSCORE_CACHE_DIR:-${TMPDIR:-/tmp}/qscore-cache-${USER:-$(id -un)}}"

status=0
"$QSCORE" batch "$MANIFEST" \
    -o "$OUTDIR/part_${index}.parquet" \
    --shard "${index}/${count}" \
    --metric "$METRICS" \
    --workers "${SLURM_CPUS_PER_TASK:-$(nproc)}" || status=$?

# 2: the shard finished but some rows failed; they are listed in
# part_I.parquet.failures.jsonl (rerun with --retry-failed). That is not a reason to
# requeue the task, so it ends successfully; 1 (the run itself failed) does not.
if [[ $status -eq 2 ]]; then
    echo "qscore-batch: shard ${index}/${count}: some rows failed, see $OUTDIR/part_${index}.parquet.failures.jsonl" >&2
    exit 0
fi
exit "$status"

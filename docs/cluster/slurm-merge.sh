#!/usr/bin/env bash
# Merges the shard outputs of docs/cluster/slurm-array.sh once every array task is done:
#
#   jobid=$(sbatch --parsable --array=0-15 --export=ALL,MANIFEST=...,OUTDIR=... docs/cluster/slurm-array.sh)
#   sbatch --dependency=afterok:$jobid --export=ALL,OUTDIR=... docs/cluster/slurm-merge.sh
#
# qscore merge refuses a row present in two parts and parts with different columns.
#SBATCH --job-name=qscore-merge
#SBATCH --cpus-per-task=1
#SBATCH --mem=4G
#SBATCH --time=01:00:00
#SBATCH --output=qscore-merge-%j.log
set -euo pipefail

: "${OUTDIR:?set OUTDIR to the folder holding part_*.parquet}"
QSCORE="${QSCORE:-qscore}"
shopt -s nullglob
parts=("$OUTDIR"/part_*.parquet)
if ((${#parts[@]} == 0)); then
    echo "qscore-merge: no part_*.parquet in $OUTDIR" >&2
    exit 1
fi
"$QSCORE" merge "${parts[@]}" -o "$OUTDIR/scores.parquet"
failures=("$OUTDIR"/part_*.parquet.failures.jsonl)
if ((${#failures[@]})); then
    cat "${failures[@]}" > "$OUTDIR/failures.jsonl"
    echo "qscore-merge: $(wc -l < "$OUTDIR/failures.jsonl") rows failed, listed in $OUTDIR/failures.jsonl" >&2
fi

#!/usr/bin/env bash
# Every GPU throughput number in one run, for a machine lent for a few minutes:
#   1. the end-to-end sweep (benches/gpu_sweep.sh): SSIMULACRA2, then butteraugli, GPU plugin
#      against the CPU plugin, pairs per second and the worst difference;
#   2. SSIMULACRA2's kernels (examples/profile_ssimulacra2.rs): warm and cold FULL, strip,
#      the fraction of copy bandwidth, tiles against the straight row walk; then one
#      profiled pass at the largest side with the kernels' device times;
#   3. butteraugli's kernels (examples/profile_butteraugli.rs) at the largest side.
#
#   benches/gpu_throughput.sh [cuda|wgpu|hip]
#   env: SIZE=1920x1080 PAIRS=200 BUTTERAUGLI_PAIRS=50 SIDES=1024,4096 REPS=5
#
# With QSCORE_TEST_PREBUILT set, nothing is built: target/release must hold qscore, the
# plugins and the two examples (for CUDA built with `--features cuda-tests`, see below).
# Otherwise it builds them first:
#   cargo build --release -p qscore-host -p qscore-cpu -p qscore-<backend>
#   cargo build --release -p qscore-cube --examples [--features cuda-tests]
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:-cuda}
sides=${SIDES:-1024,4096}
reps=${REPS:-5}
target=${CARGO_TARGET_DIR:-target}
features=()
[[ $backend == cuda ]] && features=(--features cuda-tests)
if [[ $backend == hip ]]; then
    echo "the kernel profiles run on wgpu or CUDA; HIP gets the sweep only" >&2
fi
if [[ -z ${QSCORE_TEST_PREBUILT:-} ]]; then
    cargo build --release --quiet -p qscore-host -p qscore-cpu -p "qscore-$backend"
    cargo build --release --quiet -p qscore-cube --examples "${features[@]}"
fi
export QSCORE_TEST_PREBUILT=1

echo "## sweep: ssimulacra2"
SIZE=${SIZE:-1920x1080} PAIRS=${PAIRS:-200} METRICS=ssimulacra2 bash benches/gpu_sweep.sh "$backend"
echo "## sweep: butteraugli"
SIZE=${SIZE:-1920x1080} PAIRS=${BUTTERAUGLI_PAIRS:-50} METRICS=butteraugli \
    bash benches/gpu_sweep.sh "$backend"
[[ $backend == hip ]] && exit 0

examples="$target/release/examples"
echo "## ssimulacra2 kernels, sides $sides"
SIDES=$sides REPS=$reps "$examples/profile_ssimulacra2"
largest=${sides##*,}
echo "## ssimulacra2 kernels at $largest, each kernel's device time (profiling on)"
log=$(mktemp)
SIDES=$largest REPS=1 CUBECL_DEBUG_LOG=$log CUBECL_DEBUG_OPTION=profile \
    "$examples/profile_ssimulacra2" >/dev/null
# cubecl's profiler prints a line per kernel launch and a summary table per synchronised
# stretch of work; the tables, in order: copy kernel, then the example's steps.
grep '^| [A-Za-z]' "$log" | tail -80
rm -f "$log"
echo "## butteraugli kernels at $largest"
SIDES=$largest REPS=$reps "$examples/profile_butteraugli"

#!/usr/bin/env bash
# What running the CPU plugin in worker processes costs: `qscore score` of SSIMULACRA2 on
# 1920x1080 pairs with `--isolate none` (the plugin in qscore's process) and `--isolate all`
# (in a worker process per scoring thread, images passed through shared memory). Prints
# the median wall time of each over REPEATS runs (default 5) and the overhead.
#
#   benches/isolate.sh [PAIRS]     (default 8 distorted images against one reference)
#
# Needs ffmpeg (to make the images).
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-8}
repeats=${REPEATS:-5}
build=${CARGO_TARGET_DIR:-target}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== building qscore and the CPU plugin (release)" >&2
cargo build --release --quiet -p qscore-host -p qscore-cpu
qscore="$build/release/qscore"
mkdir -p "$work/plugins"
cp "$build/release/libqscore_plugin_cpu.so" "$work/plugins/"

echo "== images: testsrc2 1920x1080, $pairs JPEG versions" >&2
ffmpeg -v error -f lavfi -i "testsrc2=size=1920x1080:rate=1" -frames:v 1 "$work/ref.png"
distorted=()
for i in $(seq 1 "$pairs"); do
    ffmpeg -v error -i "$work/ref.png" -q:v $((i + 1)) "$work/d$i.jpg"
    distorted+=("$work/d$i.jpg")
done

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
run() {
    local start end
    start=$(date +%s.%N)
    "$qscore" --no-default-plugins --plugin-dir "$work/plugins" --cache-dir "$work/cache" \
        --isolate "$1" score "$work/ref.png" "${distorted[@]}" --metric ssimulacra2 --json \
        >"$work/$1.json" 2>/dev/null
    end=$(date +%s.%N)
    python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$start" "$end"
}
run none >/dev/null    # the first run measures the backends for the capability cache
for isolate in none all; do
    for _ in $(seq "$repeats"); do run "$isolate"; done | median >"$work/$isolate.time"
done
cmp -s "$work/none.json" "$work/all.json" || { echo "scores differ" >&2; exit 1; }
python3 - "$(cat "$work/none.time")" "$(cat "$work/all.time")" "$pairs" <<'PY'
import sys
none, all_, pairs = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
print(f"{pairs} pairs of 1920x1080, ssimulacra2, CPU plugin (median of runs, same scores):")
print(f"  --isolate none: {none:6.2f} s")
print(f"  --isolate all:  {all_:6.2f} s")
print(f"  overhead: {100 * (all_ / none - 1):+.1f} %")
PY

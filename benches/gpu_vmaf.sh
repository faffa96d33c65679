#!/usr/bin/env bash
# VMAF on the GPU against the CPU plugin, end to end and kernels alone:
#
#  (a) the kernels alone, frames already on the device: frames/s at SIZE
#      (examples/vmaf_throughput.rs), and
#  (c) the cold start of the first frame (device, tables, kernel compilation), run twice:
#      with an empty kernel cache, then with the one the first run left;
#  (b) end to end: an ffmpeg-decoded SECONDS-second encode of a SIZE clip scored with
#      `qscore score --metric vmaf` on the GPU plugin and on the CPU plugin with every core,
#      the per-frame values checked equal first.
#
#   benches/gpu_vmaf.sh [cuda|wgpu|hip] [SIZE] [SECONDS]    (defaults: cuda 1920x1080 10)
#
# Builds in release mode unless QSCORE_TEST_PREBUILT is set (then target/release must hold
# qscore, the plugins and examples/vmaf_throughput, built with `--features cuda-tests` on
# qscore-cube for CUDA). Needs ffmpeg with libx264.
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:-cuda}
size=${2:-1920x1080}
seconds=${3:-10}
target=${CARGO_TARGET_DIR:-target}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

features=()
[[ $backend == cuda ]] && features=(--features cuda-tests)
if [[ -z ${QSCORE_TEST_PREBUILT:-} ]]; then
    echo "== building qscore, the CPU and $backend plugins and the throughput example" >&2
    cargo build --release --quiet -p qscore-host -p qscore-cpu -p "qscore-$backend"
    cargo build --release --quiet -p qscore-cube "${features[@]}" --example vmaf_throughput
fi
qscore="$target/release/qscore"
example="$target/release/examples/vmaf_throughput"
plugins="$work/plugins"
mkdir -p "$plugins"
cp "$target/release/libqscore_plugin_cpu.so" "$target/release/libqscore_plugin_$backend.so" "$plugins/"

now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$(now)"; }

echo "== (a, c) kernels alone at $size, cold then warm kernel cache" >&2
for run in empty-cache warm-cache; do
    QSCORE_CACHE_DIR="$work/cache" SIZE="$size" FRAMES=${FRAMES:-300} "$example" |
        sed "s/^/$run: /"
done

echo "== (b) a ${seconds}s $size clip (testsrc2, 25 fps) and its libx264 CRF 30 encode" >&2
ffmpeg -v error -f lavfi -i "testsrc2=size=$size:rate=25:duration=$seconds" \
    -pix_fmt yuv420p "$work/ref.y4m"
ffmpeg -v error -i "$work/ref.y4m" -c:v libx264 -preset veryfast -crf 30 "$work/enc.mp4"
frames=$((seconds * 25))
score() {
    "$qscore" score "$work/ref.y4m" "$work/enc.mp4" --metric vmaf --per-frame --json \
        --no-bench --no-default-plugins --plugin-dir "$plugins" --cache-dir "$work/cache" \
        --backend "$1" --no-fallback "${@:2}" >"$work/$1.json" 2>"$work/$1.err"
}
start=$(now)
score "$backend"
gpu_s=$(elapsed "$start")
start=$(now)
score cpu --workers "$(nproc)"
cpu_s=$(elapsed "$start")
python3 - "$work/cpu.json" "$work/$backend.json" <<'EOF'
import json, sys
cpu, gpu = (json.load(open(p)) for p in sys.argv[1:3])
assert gpu["backend"]["plugin"] != "cpu", gpu["backend"]
assert cpu["frames"] == gpu["frames"], "per-frame values differ"
print(f"per-frame values equal over {len(cpu['frames'])} frames; vmaf {cpu['scores']['vmaf']:.4f}")
EOF
python3 - "$frames" "$gpu_s" "$cpu_s" "$backend" "$(nproc)" <<'EOF'
import sys
frames, gpu, cpu, backend, cores = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
print(f"end to end, {frames} frames: {backend} {gpu:.2f} s ({frames / gpu:.1f} frames/s), "
      f"CPU plugin on {cores} cores {cpu:.2f} s ({frames / cpu:.1f} frames/s): {cpu / gpu:.2f}x")
EOF

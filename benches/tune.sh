#!/usr/bin/env bash
# One CRF bisection for a VMAF target: `qscore tune` against the usual pipeline on the same
# probes (per probe: ffmpeg encodes, ffmpeg decodes the encode to a raw YUV file, libvmaf's
# `vmaf` tool scores it against the reference). Prints both wall times and both peak disk
# uses (qscore: the largest encode, the only file it writes; the pipeline: an encode and its
# decoded YUV side by side, beside the reference decoded to YUV once).
#
#   benches/tune.sh [SECONDS] [SIZE] [TARGET]     (defaults: 10 1280x720 93)
#
# Needs ffmpeg with libx264, meson, ninja, nasm and a C compiler (for the `vmaf` tool).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
size=${2:-1280x720}
target=${3:-93}
build=${CARGO_TARGET_DIR:-target}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== building qscore and the CPU plugin (release)" >&2
cargo build --release --quiet -p qscore-host -p qscore-cpu
qscore="$build/release/qscore"
source benches/lib/vmaf_tool.sh
build_vmaf_tool "$work"

echo "== reference: testsrc2 ${seconds}s $size 25 fps" >&2
ffmpeg -v error -f lavfi -i "testsrc2=size=$size:rate=25:duration=$seconds" \
    -pix_fmt yuv420p "$work/ref.y4m"
width=${size%x*}
height=${size#*x}
encode_args=(-preset veryfast)

now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$(now)"; }

echo "== qscore tune --target vmaf=$target" >&2
mkdir -p "$work/tune" "$work/cache"
start=$(now)
QSCORE_CACHE_DIR="$work/cache" "$qscore" tune "$work/ref.y4m" --encoder libx264 \
    --target "vmaf=$target" --preset veryfast --workdir "$work/tune" --json \
    >"$work/tune.json" || test $? -eq 3
tune_s=$(elapsed "$start")
mapfile -t crfs < <(python3 -c '
import json, sys
print("\n".join(str(p["crf"]) for p in json.load(open(sys.argv[1]))["probes"]))' "$work/tune.json")

echo "== the usual pipeline on the same ${#crfs[@]} probes" >&2
start=$(now)
# The tool reads both inputs as raw YUV once a size is given: the reference is decoded
# once per bisection, as the usual scripts do.
ffmpeg -v error -nostdin -y -i "$work/ref.y4m" -f rawvideo -pix_fmt yuv420p "$work/ref.yuv"
peak_peer=0
for crf in "${crfs[@]}"; do
    ffmpeg -v error -nostdin -y -i "$work/ref.y4m" -map 0:v:0 -an -c:v libx264 -crf "$crf" \
        "${encode_args[@]}" "$work/enc.mkv"
    ffmpeg -v error -nostdin -y -i "$work/enc.mkv" -f rawvideo -pix_fmt yuv420p "$work/enc.yuv"
    used=$(( $(stat -c %s "$work/ref.yuv") + $(stat -c %s "$work/enc.mkv") \
        + $(stat -c %s "$work/enc.yuv") ))
    peak_peer=$(( used > peak_peer ? used : peak_peer ))
    "$vmaf" -r "$work/ref.yuv" -d "$work/enc.yuv" -w "$width" -h "$height" -p 420 -b 8 -q \
        --json -o "$work/vmaf-$crf.json" >/dev/null
    rm -f "$work/enc.mkv" "$work/enc.yuv"
done
rm -f "$work/ref.yuv"
peer_s=$(elapsed "$start")

python3 - "$work" "$tune_s" "$peer_s" "$peak_peer" <<'PY'
import json, pathlib, sys
work, tune_s, peer_s, peak_peer = pathlib.Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
answer = json.loads((work / "tune.json").read_text())
worst = 0.0
for p in answer["probes"]:
    theirs = json.loads((work / f"vmaf-{p['crf']}.json").read_text())["pooled_metrics"]["vmaf"]["mean"]
    worst = max(worst, abs(theirs - p["score"]))
assert worst < 5e-5, f"qscore and the vmaf tool differ by {worst}"
peak_tune = max(p["bytes"] for p in answer["probes"])
print(f"largest difference from the vmaf tool over {len(answer['probes'])} probes: {worst:.2e}")
print(f"chosen: crf {answer['crf']} (vmaf {answer['score']:.4f}, met: {answer['met']})")
print(f"qscore tune:      {tune_s:7.2f} s, peak disk {peak_tune / 2**20:8.1f} MiB")
print(f"usual pipeline:   {peer_s:7.2f} s, peak disk {peak_peer / 2**20:8.1f} MiB")
print(f"speed-up: {peer_s / tune_s:.2f}x")
PY

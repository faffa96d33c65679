#!/usr/bin/env bash
# VMAF on many short clips: clips per second of one `qscore score` run (resident
# libvmaf plugin, decoded frames streamed from ffmpeg through a pipe, clips in
# parallel), and of `qscore batch` on a manifest of the same pairs, against the usual
# pipeline (per clip: ffmpeg decodes to a raw YUV file, then libvmaf's own `vmaf` tool
# scores it), 2 clips at a time in all three.
#
#   benches/vmaf_clips.sh [CLIPS] [SECONDS]     (defaults: 20 clips of 2 s)
#
# Needs ffmpeg with libx264, meson, ninja, nasm and a C compiler. The `vmaf` tool is
# built in a temporary directory from the libvmaf source that libvmaf-sys vendors (the
# same code the plugin links) and deleted afterwards, like the clips.
set -euo pipefail
cd "$(dirname "$0")/.."
clips=${1:-20}
seconds=${2:-2}
parallel=2
target=${CARGO_TARGET_DIR:-target}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== building qscore and the libvmaf plugin (release)" >&2
cargo build --release --quiet -p qscore-host -p qscore-libvmaf
qscore="$target/release/qscore"

echo "== building libvmaf's vmaf tool from libvmaf-sys's vendored source" >&2
vendored=$(cargo metadata --format-version 1 | python3 -c '
import json, os, sys
meta = json.load(sys.stdin)
[pkg] = [p for p in meta["packages"] if p["name"] == "libvmaf-sys"]
print(os.path.join(os.path.dirname(pkg["manifest_path"]), "vmaf", "libvmaf"))')
meson setup "$work/vmaf-build" "$vendored" --buildtype release \
    -Denable_tests=false -Denable_docs=false >/dev/null
ninja -C "$work/vmaf-build" tools/vmaf >/dev/null
vmaf="$work/vmaf-build/tools/vmaf"
"$vmaf" --version >&2

echo "== $clips clips: testsrc2 ${seconds}s 640x360 25 fps, libx264 at CRF 13..51" >&2
ffmpeg -v error -f lavfi -i "testsrc2=size=640x360:rate=25:duration=$seconds" \
    -pix_fmt yuv420p "$work/ref.y4m"
for i in $(seq 1 "$clips"); do
    crf=$(((11 + 2 * i) > 51 ? 51 : (11 + 2 * i)))
    ffmpeg -v error -i "$work/ref.y4m" -c:v libx264 -preset veryfast -crf "$crf" \
        "$work/clip$(printf %02d "$i").mp4"
done
mapfile -t inputs < <(ls "$work"/clip*.mp4)

now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$(now)"; }
rate() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }

echo "== qscore: one run, $parallel workers" >&2
start=$(now)
"$qscore" score "$work/ref.y4m" "${inputs[@]}" --metric vmaf --workers "$parallel" \
    --json --no-bench >"$work/qscore.jsonl"
qscore_s=$(elapsed "$start")

echo "== qscore batch: a manifest of the same pairs, $parallel workers and decodes" >&2
{
    echo "reference,distorted"
    for clip in "${inputs[@]}"; do echo "$work/ref.y4m,$clip"; done
} >"$work/manifest.csv"
start=$(now)
"$qscore" batch "$work/manifest.csv" -o "$work/batch.csv" --metric vmaf --workers "$parallel" \
    --max-concurrent-decodes "$parallel" --quiet --no-bench
batch_s=$(elapsed "$start")

echo "== ffmpeg to YUV, then vmaf, per clip, $parallel clips at a time" >&2
# The tool reads both inputs as raw YUV once a size is given, so the reference is
# decoded too, once, inside the timed part.
peer_one() {
    local clip=$1 yuv="${1%.mp4}.yuv"
    ffmpeg -v error -i "$clip" -f rawvideo -pix_fmt yuv420p "$yuv"
    "$vmaf" -r "$work/ref.yuv" -d "$yuv" -w 640 -h 360 -p 420 -b 8 -q \
        --json -o "${clip%.mp4}.vmaf.json" >/dev/null
    rm -f "$yuv"
}
export -f peer_one
export vmaf work
start=$(now)
ffmpeg -v error -i "$work/ref.y4m" -f rawvideo -pix_fmt yuv420p "$work/ref.yuv"
printf '%s\n' "${inputs[@]}" | xargs -P "$parallel" -I{} bash -c 'peer_one "$1"' _ {}
peer_s=$(elapsed "$start")

# Both must agree before their speeds mean anything.
python3 - "$work" <<'EOF'
import json, pathlib, sys
work = pathlib.Path(sys.argv[1])
ours = {}
for line in (work / "qscore.jsonl").read_text().splitlines():
    row = json.loads(line)
    ours[pathlib.Path(row["distorted"]).stem] = row["scores"]["vmaf"]
worst = 0.0
for clip in sorted(ours):
    theirs = json.loads((work / f"{clip}.vmaf.json").read_text())["pooled_metrics"]["vmaf"]["mean"]
    worst = max(worst, abs(ours[clip] - theirs))
    print(f"{clip}: qscore {ours[clip]:.6f}  vmaf tool {theirs:.6f}")
import csv
with open(work / "batch.csv", newline="") as f:
    for row in csv.DictReader(f):
        clip = pathlib.Path(row["distorted"]).stem
        worst = max(worst, abs(float(row["vmaf"]) - ours[clip]))
print(f"largest difference: {worst:.2e}")
assert worst < 1e-4, "qscore score, qscore batch and the vmaf tool disagree"
EOF

echo "qscore score:      $clips clips in ${qscore_s}s = $(rate "$clips" "$qscore_s") clips/s"
echo "qscore batch:      $clips clips in ${batch_s}s = $(rate "$clips" "$batch_s") clips/s"
echo "ffmpeg+vmaf (-P$parallel): $clips clips in ${peer_s}s = $(rate "$clips" "$peer_s") clips/s"

#!/usr/bin/env bash
# VMAF on many short clips: qscore's own VMAF (the CPU plugin) against the usual
# pipeline (per clip: ffmpeg decodes to a raw YUV file, then libvmaf's own `vmaf` tool
# scores it), 2 clips at a time on both sides, values checked equal first:
#
#  (a) a sweep: CLIPS encodes of one reference, `qscore score REF D1 ... Dn` (the
#      reference read and prepared once per lock-step group) and `qscore batch`;
#  (b) CLIPS pairs with CLIPS different references (`qscore batch`);
#  (c) one core, 1920x1080: frames per second of qscore's VMAF and the vmaf tool's;
#  (d) peak RSS of the sweep for CLIPS and 10 x CLIPS clips.
#
#   benches/vmaf_clips.sh [CLIPS] [SECONDS]     (defaults: 20 clips of 2 s)
#
# Needs ffmpeg with libx264, meson, ninja, nasm and a C compiler. The `vmaf` tool is
# built in a temporary directory from the libvmaf source that libvmaf-sys vendors (the
# same code the libvmaf plugin links) and deleted afterwards, like the clips.
set -euo pipefail
cd "$(dirname "$0")/.."
clips=${1:-20}
seconds=${2:-2}
parallel=2
target=${CARGO_TARGET_DIR:-target}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== building qscore and the CPU plugin (release)" >&2
cargo build --release --quiet -p qscore-host -p qscore-cpu
qscore="$target/release/qscore"

echo "== building libvmaf's vmaf tool from libvmaf-sys's vendored source" >&2
source benches/lib/vmaf_tool.sh
build_vmaf_tool "$work"

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

echo "== (a) qscore score: one run, $parallel workers" >&2
start=$(now)
"$qscore" score "$work/ref.y4m" "${inputs[@]}" --metric vmaf --workers "$parallel" \
    --json --no-bench >"$work/qscore.jsonl" 2>"$work/qscore.err"
qscore_s=$(elapsed "$start")
tail -1 "$work/qscore.err" >&2

echo "== (a) qscore batch: a manifest of the same pairs, $parallel workers" >&2
{
    echo "reference,distorted"
    for clip in "${inputs[@]}"; do echo "$work/ref.y4m,$clip"; done
} >"$work/manifest.csv"
start=$(now)
"$qscore" batch "$work/manifest.csv" -o "$work/batch.csv" --metric vmaf --workers "$parallel" \
    --quiet --no-bench
batch_s=$(elapsed "$start")

echo "== (a) ffmpeg to YUV, then vmaf, per clip, $parallel clips at a time" >&2
# The tool reads both inputs as raw YUV once a size is given, so the reference is
# decoded too, once, inside the timed part.
peer_one() {
    local ref=$1 clip=$2 yuv="${2%.mp4}.yuv"
    ffmpeg -v error -i "$clip" -f rawvideo -pix_fmt yuv420p "$yuv"
    "$vmaf" -r "$ref" -d "$yuv" -w 640 -h 360 -p 420 -b 8 -q \
        --json -o "${clip%.mp4}.vmaf.json" >/dev/null
    rm -f "$yuv"
}
export -f peer_one
export vmaf work
start=$(now)
ffmpeg -v error -i "$work/ref.y4m" -f rawvideo -pix_fmt yuv420p "$work/ref.yuv"
printf '%s\n' "${inputs[@]}" |
    xargs -P "$parallel" -I{} bash -c 'peer_one "$work/ref.yuv" "$1"' _ {}
peer_s=$(elapsed "$start")

echo "== (b) $clips references, one encode each" >&2
sources=(testsrc2 smptebars rgbtestsrc mandelbrot life cellauto testsrc yuvtestsrc)
mkdir -p "$work/b"
for i in $(seq 1 "$clips"); do
    src=${sources[$(((i - 1) % ${#sources[@]}))]}
    n=$(printf %02d "$i")
    ffmpeg -v error -f lavfi -i "$src=size=640x360:rate=25" -t "$seconds" \
        -vf "hue=h=$((i * 17))" -pix_fmt yuv420p "$work/b/ref$n.y4m"
    ffmpeg -v error -i "$work/b/ref$n.y4m" -c:v libx264 -preset veryfast \
        -crf $((20 + i)) "$work/b/clip$n.mp4"
done
{
    echo "reference,distorted"
    for i in $(seq -f %02g 1 "$clips"); do echo "$work/b/ref$i.y4m,$work/b/clip$i.mp4"; done
} >"$work/b/manifest.csv"
start=$(now)
"$qscore" batch "$work/b/manifest.csv" -o "$work/b/batch.csv" --metric vmaf \
    --workers "$parallel" --quiet --no-bench
batch_b_s=$(elapsed "$start")
peer_b() {
    local n=$1
    ffmpeg -v error -i "$work/b/ref$n.y4m" -f rawvideo -pix_fmt yuv420p "$work/b/ref$n.yuv"
    peer_one "$work/b/ref$n.yuv" "$work/b/clip$n.mp4"
    rm -f "$work/b/ref$n.yuv"
}
export -f peer_b
start=$(now)
seq -f %02g 1 "$clips" | xargs -P "$parallel" -I{} bash -c 'peer_b "$1"' _ {}
peer_b_s=$(elapsed "$start")

echo "== (c) one core, 1920x1080, 20 frames" >&2
ffmpeg -v error -f lavfi -i "testsrc2=size=1920x1080:rate=25" -frames:v 20 \
    -pix_fmt yuv420p -f rawvideo "$work/hd_ref.yuv"
ffmpeg -v error -f rawvideo -pix_fmt yuv420p -s 1920x1080 -i "$work/hd_ref.yuv" \
    -vf "noise=alls=12:allf=t,gblur=sigma=0.8" -pix_fmt yuv420p -f rawvideo "$work/hd_dist.yuv"
start=$(now)
taskset -c 0 "$qscore" score "$work/hd_ref.yuv" "$work/hd_dist.yuv" --size 1920x1080 \
    --pix-fmt yuv420p --metric vmaf --workers 1 --json --no-bench >"$work/hd.jsonl" 2>/dev/null
hd_s=$(elapsed "$start")
start=$(now)
taskset -c 0 "$vmaf" -r "$work/hd_ref.yuv" -d "$work/hd_dist.yuv" -w 1920 -h 1080 -p 420 \
    -b 8 -q --json -o "$work/hd.vmaf.json" >/dev/null
hd_peer_s=$(elapsed "$start")

echo "== (d) peak RSS of the sweep" >&2
many=()
for _ in $(seq 1 10); do many+=("${inputs[@]}"); done
rss() {
    /usr/bin/time -f %M "$qscore" score "$work/ref.y4m" "$@" --metric vmaf \
        --workers "$parallel" --json --no-bench 2>&1 >/dev/null | tail -1
}
rss_n=$(rss "${inputs[@]}")
rss_10n=$(rss "${many[@]}")

# Both must agree before their speeds mean anything.
python3 - "$work" <<'PY'
import csv, json, pathlib, sys
work = pathlib.Path(sys.argv[1])
worst = 0.0
def theirs(path):
    return json.loads(path.read_text())["pooled_metrics"]["vmaf"]["mean"]
ours = {}
for line in (work / "qscore.jsonl").read_text().splitlines():
    row = json.loads(line)
    ours[pathlib.Path(row["distorted"]).stem] = row["scores"]["vmaf"]
for clip in sorted(ours):
    worst = max(worst, abs(ours[clip] - theirs(work / f"{clip}.vmaf.json")))
with open(work / "batch.csv", newline="") as f:
    for row in csv.DictReader(f):
        worst = max(worst, abs(float(row["vmaf"]) - ours[pathlib.Path(row["distorted"]).stem]))
with open(work / "b" / "batch.csv", newline="") as f:
    for row in csv.DictReader(f):
        clip = pathlib.Path(row["distorted"])
        worst = max(worst, abs(float(row["vmaf"]) - theirs(clip.with_suffix(".vmaf.json"))))
hd = json.loads((work / "hd.jsonl").read_text())["scores"]["vmaf"]
worst = max(worst, abs(hd - theirs(work / "hd.vmaf.json")))
print(f"largest difference from the vmaf tool: {worst:.2e}")
assert worst < 5e-5, "qscore and the vmaf tool disagree"
PY

echo "(a) qscore score:        $clips clips in ${qscore_s}s = $(rate "$clips" "$qscore_s") clips/s"
echo "(a) qscore batch:        $clips clips in ${batch_s}s = $(rate "$clips" "$batch_s") clips/s"
echo "(a) ffmpeg+vmaf (-P$parallel):  $clips clips in ${peer_s}s = $(rate "$clips" "$peer_s") clips/s"
echo "(b) qscore batch:        $clips pairs in ${batch_b_s}s = $(rate "$clips" "$batch_b_s") pairs/s"
echo "(b) ffmpeg+vmaf (-P$parallel):  $clips pairs in ${peer_b_s}s = $(rate "$clips" "$peer_b_s") pairs/s"
echo "(c) one core, 1080p:     qscore $(rate 20 "$hd_s") frames/s, vmaf tool $(rate 20 "$hd_peer_s") frames/s"
echo "(d) peak RSS:            $clips clips ${rss_n} KiB, $((10 * clips)) clips ${rss_10n} KiB"

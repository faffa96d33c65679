#!/usr/bin/env bash
# A rate-distortion-style sweep on a GPU plugin against the CPU plugin, end to end:
# PAIRS pairs of SIZE images (5 references, JPEG and blur variants of each, made with
# ffmpeg) scored by `qscore batch` with METRICS, decoding included, first on the GPU plugin
# with the default decode limit and device workers, then on the CPU plugin with every core.
# Prints pairs per second for each and checks that both gave every row.
#
#   benches/gpu_sweep.sh [cuda|wgpu|hip]     (env: SIZE=1920x1080 PAIRS=200 METRICS=ssimulacra2)
#
# Builds in release mode unless QSCORE_TEST_PREBUILT is set (then target/release must hold
# qscore and the plugins). Needs ffmpeg.
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:-cuda}
size=${SIZE:-1920x1080}
pairs=${PAIRS:-200}
metrics=${METRICS:-ssimulacra2}
target=${CARGO_TARGET_DIR:-target}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [[ -z ${QSCORE_TEST_PREBUILT:-} ]]; then
    cargo build --release --quiet -p qscore-host -p qscore-cpu -p "qscore-$backend"
fi
qscore="$target/release/qscore"
plugins="$work/plugins"
mkdir -p "$plugins" "$work/img"
cp "$target/release/libqscore_plugin_cpu.so" "$target/release/libqscore_plugin_$backend.so" "$plugins/"

sources=(testsrc2 smptehdbars mandelbrot rgbtestsrc cellauto)
per=$((pairs / ${#sources[@]}))
echo "== making ${#sources[@]} references of $size and $per variants each" >&2
echo "reference,distorted" >"$work/manifest.csv"
for s in "${!sources[@]}"; do
    ref="$work/img/ref$s.png"
    ffmpeg -v error -f lavfi -i "${sources[$s]}=size=$size:rate=1" -frames:v 1 \
        -vf format=rgb24 "$ref"
    for v in $(seq 0 $((per - 1))); do
        out="$work/img/d${s}_$v.png"
        if ((v % 2 == 0)); then
            # JPEG at qualities spread over 2..31 (ffmpeg's -q:v scale).
            ffmpeg -v error -y -i "$ref" -q:v $((2 + v * 29 / per)) "$work/tmp.jpg"
            ffmpeg -v error -y -i "$work/tmp.jpg" -vf format=rgb24 "$out"
        else
            ffmpeg -v error -i "$ref" -vf "gblur=sigma=0.$((v % 9 + 1)),format=rgb24" "$out"
        fi
        echo "img/ref$s.png,img/d${s}_$v.png" >>"$work/manifest.csv"
    done
done
rows=$(($(wc -l <"$work/manifest.csv") - 1))

run() { # name, extra flags...
    local name=$1
    shift
    local t0 t1
    t0=$(date +%s.%N)
    "$qscore" batch "$work/manifest.csv" -o "$work/$name.csv" --metric "$metrics" --quiet \
        --plugin-dir "$plugins" --no-default-plugins --cache-dir "$work/cache" "$@"
    t1=$(date +%s.%N)
    local got=$(($(wc -l <"$work/$name.csv") - 1))
    [[ $got == "$rows" ]] || { echo "$name wrote $got of $rows rows" >&2; exit 1; }
    python3 -c "import sys; r, s = int(sys.argv[2]), float(sys.argv[3]) - float(sys.argv[2 + 2]); print(f'{sys.argv[1]}: {r} pairs in {s:.2f} s, {r / s:.1f} pairs/s')" \
        "$name" "$rows" "$t1" "$t0"
}
echo "== $rows pairs of $size, --metric $metrics" >&2
run "$backend" --backend "$backend" --no-fallback
run cpu --backend cpu --workers "$(nproc)"
python3 - "$work/$backend.csv" "$work/cpu.csv" <<'PY'
import csv, sys
def load(path):
    with open(path) as f:
        return {(r["reference"], r["distorted"]): r for r in csv.DictReader(f)}
gpu, cpu = load(sys.argv[1]), load(sys.argv[2])
worst = {}
for key, row in cpu.items():
    for col, value in row.items():
        try:
            a, b = float(value), float(gpu[key][col])
        except (ValueError, TypeError, KeyError):
            continue
        if col in ("width", "height"):
            continue
        worst[col] = max(worst.get(col, 0.0), abs(a - b) / max(abs(a), 1e-12))
print("worst relative difference GPU vs CPU plugin:",
      ", ".join(f"{c} {w:.1e}" for c, w in sorted(worst.items())))
PY

#!/usr/bin/env bash
# Benchmarks of `qscore batch` (numbers in docs/batch.md):
#  1. scaling: a manifest of tiny images at 1k and 100k rows — per-row time and peak RSS;
#  2. throughput: `qscore batch` against one `qscore score` process per pair, two at a
#     time (the process-per-item approach), on 200 pairs of 512x512 images.
#
#   cargo build --release -p qscore-host -p qscore-cpu
#   benches/batch.sh [TARGET_DIR] [WORK_DIR]
#
# Needs ffmpeg (to make the tiny images) and GNU time (/usr/bin/time) for peak RSS.
# Each measurement is repeated REPEATS times (default 3); medians are printed.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:-target}/release"
work="${2:-$(mktemp -d)}"
repeats="${REPEATS:-3}"
qscore="$target/qscore"
plugins="$work/plugins"
mkdir -p "$plugins" "$work/cache"
cp "$target/libqscore_plugin_cpu.so" "$plugins/"
# Plugins from --plugin-dir run in worker processes by default (--isolate auto); those
# shipped beside qscore, which users run, do not: measure that.
flags=(--plugin-dir "$plugins" --no-default-plugins --isolate none --cache-dir "$work/cache")

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# --- 1. scaling -------------------------------------------------------------------
tiny="$work/tiny"
mkdir -p "$tiny"
if [[ ! -f "$tiny/img_0400.png" ]]; then
    ffmpeg -loglevel error -f lavfi -i testsrc=size=16x16:rate=25 -frames:v 400 "$tiny/img_%04d.png"
fi
manifest() { # rows -> file
    local rows=$1 file="$tiny/manifest_$1.csv"
    awk -v n="$rows" 'BEGIN {
        print "reference,distorted,id";
        for (i = 0; i < n; i++) {
            r = int(i / 50) % 200 + 1; d = r + 200;
            printf "img_%04d.png,img_%04d.png,%d\n", r, d, i
        }
    }' > "$file"
    echo "$file"
}
run_scaling() { # rows -> "seconds rss_kb"
    local m out
    m=$(manifest "$1")
    out="$work/scaling_$1.csv"
    rm -f "$out" "$out".*
    local t0 t1
    t0=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$work/time" "$qscore" batch "$m" -o "$out" --metric psnr --quiet --no-bench "${flags[@]}" 2>/dev/null
    t1=$(date +%s.%N)
    echo "$(echo "$t1-$t0" | bc -l) $(cat "$work/time")"
}
echo "# scaling: tiny 16x16 images, metric psnr, medians of $repeats runs"
printf "%8s %10s %12s %14s %10s\n" rows seconds "us/row" "us/row-start" "peak MB"
start_s=""
for rows in 0 1000 100000; do
    seconds=(); rss=()
    for _ in $(seq "$repeats"); do
        read -r s k < <(run_scaling "$rows")
        seconds+=("$s"); rss+=("$k")
    done
    s=$(printf "%s\n" "${seconds[@]}" | median)
    k=$(printf "%s\n" "${rss[@]}" | median)
    [[ $rows == 0 ]] && start_s=$s
    if [[ $rows == 0 ]]; then
        printf "%8s %10.3f %12s %14s %10.1f\n" "$rows" "$s" - - "$(echo "$k/1024" | bc -l)"
    else
        printf "%8s %10.3f %12.1f %14.1f %10.1f\n" "$rows" "$s" "$(echo "$s*1000000/$rows" | bc -l)" \
            "$(echo "($s-$start_s)*1000000/$rows" | bc -l)" "$(echo "$k/1024" | bc -l)"
    fi
done

# --- 2. throughput against one process per pair ----------------------------------
pairs="$work/pairs"
mkdir -p "$pairs"
cp data/images/flower_512.png "$pairs/ref.png"
distortions=(data/images/flower_512__*.png)
{
    echo "reference,distorted"
    for i in $(seq 0 199); do
        src="${distortions[$((i % ${#distortions[@]}))]}"
        [[ -f "$pairs/d$i.png" ]] || cp "$src" "$pairs/d$i.png"
        echo "ref.png,d$i.png"
    done
} > "$pairs/manifest.csv"
metrics="${METRICS:-psnr,ssim,ssimulacra2}"
# Measure backends once, so that neither side pays for it in the timings.
"$qscore" bench --metric "$metrics" --budget 5 "${flags[@]}" >/dev/null 2>&1 || true
echo
echo "# throughput: 200 pairs of 512x512, metrics $metrics, medians of $repeats runs"
batch_s=(); proc_s=(); batch_cpu=(); proc_cpu=()
for _ in $(seq "$repeats"); do
    rm -f "$work/pairs.csv" "$work/pairs.csv".*
    /usr/bin/time -f "%e %U %S" -o "$work/time" \
        "$qscore" batch "$pairs/manifest.csv" -o "$work/pairs.csv" --metric "$metrics" --quiet "${flags[@]}" 2>/dev/null
    read -r e u s < "$work/time"
    batch_s+=("$e"); batch_cpu+=("$(echo "$u+$s" | bc -l)")
    # GNU time counts the children xargs waited for.
    /usr/bin/time -f "%e %U %S" -o "$work/time" \
        sh -c "seq 0 199 | xargs -P 2 -I{} '$qscore' score '$pairs/ref.png' '$pairs/d{}.png' --metric '$metrics' --json ${flags[*]} >/dev/null 2>&1"
    read -r e u s < "$work/time"
    proc_s+=("$e"); proc_cpu+=("$(echo "$u+$s" | bc -l)")
done
b=$(printf "%s\n" "${batch_s[@]}" | median)
p=$(printf "%s\n" "${proc_s[@]}" | median)
bc_=$(printf "%s\n" "${batch_cpu[@]}" | median)
pc=$(printf "%s\n" "${proc_cpu[@]}" | median)
printf "%-34s %8s %10s %12s %12s\n" "" wall pairs/s "CPU s" "CPU ms/pair"
printf "%-34s %8.2f %10.1f %12.2f %12.1f\n" "qscore batch" "$b" "$(echo "200/$b" | bc -l)" "$bc_" "$(echo "$bc_*5" | bc -l)"
printf "%-34s %8.2f %10.1f %12.2f %12.1f\n" "qscore score per pair, 2 parallel" "$p" "$(echo "200/$p" | bc -l)" "$pc" "$(echo "$pc*5" | bc -l)"
printf "speed-up: wall %.2fx, CPU %.2fx\n" "$(echo "$p/$b" | bc -l)" "$(echo "$pc/$bc_" | bc -l)"

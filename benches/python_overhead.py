"""What a Python call costs above the metric: `qscore.Scorer.score` on a 64×64 pair, 1000
times, against the same 1000 pairs through `qscore batch` and against the metric's own time
in qscore (`score_many`, which pays the per-call work once for all).

    python benches/python_overhead.py [--qscore PATH] [--metric psnr] [--calls 1000]

Needs the `qscore` wheel installed (python/build-wheel; release build for real numbers),
numpy and Pillow, and a `qscore` executable (default: target/release/qscore).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

import qscore

REPO = Path(__file__).resolve().parents[1]


def pairs(folder: Path, count: int) -> tuple[np.ndarray, list[np.ndarray], Path]:
    rng = np.random.default_rng(3)
    reference = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    distorted = [
        np.clip(reference + rng.normal(0, 2 + i % 7, reference.shape), 0, 255).astype(np.uint8)
        for i in range(count)
    ]
    Image.fromarray(reference).save(folder / "ref.png")
    manifest = folder / "pairs.csv"
    with manifest.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["reference", "distorted"])
        for i, image in enumerate(distorted):
            Image.fromarray(image).save(folder / f"d{i}.png")
            writer.writerow(["ref.png", f"d{i}.png"])
    return reference, distorted, manifest


def per_call(seconds: float, calls: int) -> float:
    return seconds / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--qscore", default=str(REPO / "target/release/qscore"))
    parser.add_argument("--metric", default="psnr")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        reference, distorted, manifest = pairs(folder, args.calls)
        scorer = qscore.Scorer([args.metric], backend="cpu", workers=1)
        scorer.score(reference, distorted[0])
        single, many = [], []
        for _ in range(args.repeats):
            started = time.perf_counter()
            for image in distorted:
                scorer.score(reference, image)
            single.append(per_call(time.perf_counter() - started, args.calls))
            started = time.perf_counter()
            scorer.score_many(reference, distorted)
            many.append(per_call(time.perf_counter() - started, args.calls))
        batch = []
        for run in range(args.repeats):
            out = folder / f"out{run}.csv"
            started = time.perf_counter()
            subprocess.run(
                [args.qscore, "batch", str(manifest), "-o", str(out), "--metric", args.metric,
                 "--backend", "cpu", "--workers", "1", "--no-bench", "--quiet"],
                check=True,
                capture_output=True,
            )
            batch.append(per_call(time.perf_counter() - started, args.calls))
    s, m, b = statistics.median(single), statistics.median(many), statistics.median(batch)
    print(f"{args.metric} 64x64, {args.calls} pairs, one CPU worker, median of {args.repeats}:")
    print(f"  Scorer.score, one call per pair:      {s:8.1f} µs/pair")
    print(f"  Scorer.score_many, one call for all:  {m:8.1f} µs/pair (the metric's own time)")
    print(f"  qscore batch (PNG files, one run):    {b:8.1f} µs/pair")
    print(f"  a call costs {s - m:.1f} µs above the metric")


if __name__ == "__main__":
    main()

"""`qscore.batch`: the batch driver of `qscore batch`, read back with pandas, resumed
after Ctrl-C."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas
import pytest

import qscore
from conftest import DATA, IMAGES


def test_the_sample_corpus_into_parquet_read_by_pandas(tmp_path):
    out = tmp_path / "scores.parquet"
    summary = qscore.batch(DATA / "corpus" / "manifest.csv", out, "psnr,ssim")
    assert summary["scored"] == 13 and summary["failed"] == 0, summary
    assert summary["output_rows"] == 13
    assert summary["backends"] == {"cpu": 13}
    table = pandas.read_parquet(out)
    assert len(table) == 13
    assert {"reference", "distorted", "psnr", "ssim", "vmaf", "backends"} <= set(table.columns)
    row = table[table["distorted"] == "petals__blur.png"].iloc[0]
    direct = qscore.Scorer("psnr,ssim", backend="cpu").score(
        DATA / "corpus" / "petals.png", DATA / "corpus" / "petals__blur.png"
    )
    assert row["psnr"] == direct["psnr"] and row["ssim"] == direct["ssim"]
    video = table[table["metric"] == "vmaf"].iloc[0]
    clip = qscore.score_video(
        DATA / "corpus" / "src01.y4m", DATA / "corpus" / "src01__hrc01.y4m", "vmaf"
    )
    assert abs(video["vmaf"] - clip["vmaf"]) < 1e-9
    # The same call again finds every row done.
    again = qscore.batch(DATA / "corpus" / "manifest.csv", out, "psnr,ssim")
    assert again["scored"] == 0 and again["skipped_done"] == 13


def test_bad_manifests_and_options_raise(tmp_path):
    with pytest.raises(qscore.InvalidInputError, match="missing.csv"):
        qscore.batch(tmp_path / "missing.csv", tmp_path / "out.csv", "psnr")
    with pytest.raises(qscore.InvalidInputError, match="unknown output format"):
        qscore.batch(DATA / "corpus" / "manifest.csv", tmp_path / "out.xlsx", "psnr")
    with pytest.raises(qscore.InvalidInputError, match="shard"):
        qscore.batch(DATA / "corpus" / "manifest.csv", tmp_path / "o.csv", "psnr", shard="3")
    with pytest.raises(qscore.InvalidInputError, match="colour"):
        qscore.batch(DATA / "corpus" / "manifest.csv", tmp_path / "o.csv", "psnr", colour=1)


def slow_manifest(folder: Path, rows: int) -> Path:
    """`rows` pairs slow enough (butteraugli at 512²) to interrupt a run midway."""
    manifest = folder / "pairs.csv"
    distorted = sorted(p.name for p in IMAGES.glob("flower_512__*.png"))
    with manifest.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["reference", "distorted", "copy"])
        for i in range(rows):
            writer.writerow([IMAGES / "flower_512.png", IMAGES / distorted[i % len(distorted)], i])
    return manifest


def wait_for(what: str, ready, seconds: float = 60) -> None:
    end = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > end:
            pytest.fail(f"waited {seconds} s for {what}")
        time.sleep(0.05)


def ctrl_c(child: subprocess.Popen, what: str) -> None:
    """Sends SIGINT to `child`, which must end within 30 s with `KeyboardInterrupt` and
    without printing `finished`."""
    child.send_signal(signal.SIGINT)
    try:
        stdout, stderr = child.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()
        pytest.fail(f"Ctrl-C did not stop {what} within 30 s")
    assert b"KeyboardInterrupt" in stderr, stderr.decode()
    assert b"finished" not in stdout


def test_ctrl_c_stops_a_batch_which_then_resumes(tmp_path):
    manifest = slow_manifest(tmp_path, 40)
    out = tmp_path / "scores.csv"
    journal = Path(f"{out}.journal.jsonl")
    script = textwrap.dedent(
        f"""
        import qscore
        qscore.batch({str(manifest)!r}, {str(out)!r}, "butteraugli", workers=1)
        print("finished")
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    wait_for("the first journaled row", lambda: journal.exists() and journal.stat().st_size > 0)
    ctrl_c(child, "the batch")
    kept = sum(1 for line in journal.read_text().splitlines() if line.strip())
    assert 0 < kept < 40, kept
    summary = qscore.batch(manifest, out, "butteraugli", workers=2)
    assert summary["skipped_done"] >= kept - 1, (summary, kept)
    assert summary["skipped_done"] + summary["scored"] == 40, summary
    assert summary["output_rows"] == 40
    table = pandas.read_csv(out)
    assert sorted(table["copy"]) == list(range(40))


def test_ctrl_c_stops_scoring_many_images():
    script = textwrap.dedent(
        f"""
        import sys, qscore
        scorer = qscore.Scorer("butteraugli", backend="cpu", workers=1)
        reference = {str(IMAGES / "flower_512.png")!r}
        print("started", flush=True)
        scorer.score_many(reference, [{str(IMAGES / "flower_512__blur_s1.png")!r}] * 200)
        print("finished", flush=True)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert child.stdout.readline() == b"started\n"
    time.sleep(1.0)
    started = time.monotonic()
    ctrl_c(child, "score_many")
    # Only the comparisons in flight finish (one worker: about one comparison).
    assert time.monotonic() - started < 10

"""`qscore.score_video`: raw YUV, Y4M and anything ffmpeg reads, against libvmaf's
published values for the Netflix sample pair."""

from __future__ import annotations

import shutil
import subprocess

import pytest

import qscore
from conftest import VIDEO, video_golden

RAW = {"size": "576x324", "pix_fmt": "yuv420p10le"}
REFERENCE = VIDEO / "src01_hrc00_576x324.yuv420p10le.yuv"
DISTORTED = VIDEO / "src01_hrc01_576x324.yuv420p10le.yuv"


def test_raw_yuv_matches_libvmaf():
    golden = video_golden()["libvmaf_v2.3.1_to_v3.1.0"]["distorted"]
    result = qscore.score_video(REFERENCE, DISTORTED, "vmaf", per_frame=True, **RAW)
    assert result["frame_count"] == 3 == len(result["frames"])
    assert abs(result["vmaf"] - golden["score"]) < 1e-4, result["vmaf"]
    for name in ["vif_scale0", "vif_scale1", "vif_scale2", "vif_scale3", "adm2"]:
        assert abs(result[name] - golden[f"{name}_score"]) < 1e-4, name
    assert result["pooled"]["vmaf"]["mean"] == result["vmaf"]
    assert result["pooled"]["vmaf"]["min"] == min(f["vmaf"] for f in result["frames"])
    assert result["backend_used"] == "cpu"


def test_a_container_ffmpeg_reads_scores_as_the_raw_clip(tmp_path):
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is needed (the README's test command installs it)")
    encoded = tmp_path / "distorted.mkv"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p10le",
         "-s", "576x324", "-i", str(DISTORTED), "-c:v", "ffv1", str(encoded)],
        check=True,
    )
    raw = qscore.score_video(REFERENCE, DISTORTED, ["psnr", "vmaf"], **RAW)
    # The reference stays raw: its geometry is given; the distorted clip describes itself.
    y4m = tmp_path / "reference.y4m"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p10le",
         "-s", "576x324", "-i", str(REFERENCE), "-strict", "-1", str(y4m)],
        check=True,
    )
    decoded = qscore.score_video(y4m, encoded, ["psnr", "vmaf"])
    for name in ["psnr_y", "psnr_cb", "vmaf"]:
        assert decoded[name] == raw[name], name


def test_bad_clips_and_options_are_named():
    with pytest.raises(qscore.InvalidInputError, match="missing.y4m"):
        qscore.score_video(REFERENCE, VIDEO / "missing.y4m", "psnr", **RAW)
    with pytest.raises(qscore.InvalidInputError, match="size= and pix_fmt="):
        qscore.score_video(REFERENCE, DISTORTED, "psnr", size="576x324")
    with pytest.raises(qscore.InvalidInputError, match="colour"):
        qscore.score_video(REFERENCE, DISTORTED, "psnr", colour="red", **RAW)
    with pytest.raises(qscore.InvalidInputError, match="nosuch"):
        qscore.score_video(REFERENCE, DISTORTED, "nosuch", **RAW)


def test_a_smaller_rung_is_scaled_to_the_reference_when_asked(tmp_path):
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is needed (the README's test command installs it)")
    reference = tmp_path / "reference.y4m"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p10le",
         "-s", "576x324", "-i", str(REFERENCE), "-strict", "-1", str(reference)],
        check=True,
    )
    rung, upscaled = tmp_path / "rung.mkv", tmp_path / "upscaled.y4m"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p10le",
         "-s", "576x324", "-i", str(DISTORTED), "-vf", "scale=288:162", "-c:v", "ffv1",
         str(rung)],
        check=True,
    )
    # The usual pipeline: upscaled by ffmpeg beforehand, to the reference's format.
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", str(rung), "-vf",
         "scale=576:324:flags=bicubic", "-pix_fmt", "yuv420p10le", "-strict", "-1",
         str(upscaled)],
        check=True,
    )
    with pytest.raises(qscore.InvalidInputError, match="--scale bicubic"):
        qscore.score_video(reference, rung, "vmaf")
    scaled = qscore.score_video(reference, rung, ["psnr", "vmaf"], scale="bicubic")
    beforehand = qscore.score_video(reference, upscaled, ["psnr", "vmaf"])
    for name in ["psnr_y", "psnr_cb", "vmaf", "adm2"]:
        assert scaled[name] == beforehand[name], name
    with pytest.raises(qscore.InvalidInputError, match="not a scaler"):
        qscore.score_video(reference, rung, "vmaf", scale="cubic")


def test_subsample_scores_every_nth_frame_with_its_full_values():
    every = qscore.score_video(REFERENCE, DISTORTED, "vmaf", per_frame=True, **RAW)
    assert "frame_numbers" not in every
    some = qscore.score_video(REFERENCE, DISTORTED, "vmaf", per_frame=True, subsample=2, **RAW)
    assert some["frame_numbers"] == [0, 2] and some["frame_count"] == 2
    assert some["frames"] == [every["frames"][0], every["frames"][2]]
    with pytest.raises(qscore.InvalidInputError, match="subsample"):
        qscore.score_video(REFERENCE, DISTORTED, "vmaf", subsample=0, **RAW)

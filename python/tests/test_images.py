"""Image scoring through `qscore.Scorer`: goldens from external references, arrays and
paths alike, the prepared reference reused, and bad input refused by name."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import qscore
from conftest import IMAGES, assert_close, image_goldens

METRICS = ["psnr", "ssim", "ssimulacra2", "butteraugli"]
# Our output names and the goldens' names for them.
OUTPUTS = [
    ("psnr", "psnr"),
    ("ssim", "ssim"),
    ("ssimulacra2", "ssimulacra2"),
    ("butteraugli", "butteraugli_max"),
    ("butteraugli_pnorm3", "butteraugli_pnorm3"),
]


def load(name: str) -> np.ndarray:
    return np.asarray(Image.open(IMAGES / name).convert("RGB"))


@pytest.fixture(scope="module")
def scorer() -> qscore.Scorer:
    return qscore.Scorer(METRICS, backend="cpu")


def test_paths_match_the_goldens(scorer):
    for pair in image_goldens():
        result = scorer.score(IMAGES / pair["reference"], str(IMAGES / pair["distorted"]))
        assert result["backend_used"] == "cpu"
        for ours, golden in OUTPUTS:
            assert_close(golden, result[ours], pair[golden])


def test_arrays_match_the_goldens_and_the_paths(scorer):
    pairs = [p for p in image_goldens() if p["reference"] == "flower_517x389.png"]
    reference = load("flower_517x389.png")
    results = scorer.score_many(reference, [load(p["distorted"]) for p in pairs])
    for pair, result in zip(pairs, results):
        for ours, golden in OUTPUTS:
            assert_close(golden, result[ours], pair[golden])
    by_path = scorer.score(IMAGES / "flower_517x389.png", IMAGES / pairs[0]["distorted"])
    assert {k: v for k, v in by_path.items()} == results[0]


def test_score_many_prepares_the_reference_once():
    scorer = qscore.Scorer(["psnr", "ssimulacra2"], backend="cpu", workers=2)
    reference = load("flower_512.png")
    distorted = [load(p["distorted"]) for p in image_goldens() if p["reference"] == "flower_512.png"]
    assert scorer.reference_counts() == {"reused": 0, "prepared": 0}
    scorer.score_many(reference, distorted)
    counts = scorer.reference_counts()
    comparisons = 2 * len(distorted)
    assert counts["reused"] + counts["prepared"] == comparisons
    # At most one preparation per metric and worker: every other comparison reuses it.
    assert counts["prepared"] <= 2 * 2, counts
    # The same reference again, in a later call: still prepared.
    scorer.score(reference, distorted[0])
    assert scorer.reference_counts()["prepared"] == counts["prepared"]


def test_identical_images_give_infinite_psnr_and_output_names_select():
    reference = load("flower_512.png")
    scorer = qscore.Scorer("psnr,butteraugli_pnorm3", backend="cpu")
    result = scorer.score(reference, reference.copy())
    assert result["psnr"] == float("inf")
    assert set(result) == {"psnr", "butteraugli_pnorm3", "backend_used"}


def test_grey_sixteen_bit_rgba_and_linear_float_arrays():
    rng = np.random.default_rng(7)
    base = rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)
    noisy = np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
    scorer = qscore.Scorer(["psnr"], backend="cpu")
    rgb = scorer.score(base, noisy)["psnr"]
    mse = np.mean((base.astype(np.float64) - noisy) ** 2)
    assert abs(rgb - 10 * np.log10(255**2 / mse)) < 1e-9
    # 16-bit samples scaled by 257 keep the same ratio of error to peak.
    wide = scorer.score(base.astype(np.uint16) * 257, noisy.astype(np.uint16) * 257)["psnr"]
    assert abs(wide - rgb) < 1e-9
    # RGBA with opaque alpha scores as RGB.
    alpha = np.full((48, 40, 1), 255, np.uint8)
    rgba = scorer.score(np.concatenate([base, alpha], 2), np.concatenate([noisy, alpha], 2))
    assert rgba["psnr"] == pytest.approx(rgb, abs=1e-9)
    grey = scorer.score(
        np.ascontiguousarray(base[:, :, 0]), np.ascontiguousarray(noisy[:, :, 0])
    )["psnr"]
    grey_mse = np.mean((base[:, :, 0].astype(np.float64) - noisy[:, :, 0]) ** 2)
    assert abs(grey - 10 * np.log10(255**2 / grey_mse)) < 1e-9
    linear = qscore.Scorer(["ssimulacra2"], backend="cpu")
    ref = (base / 255.0).astype(np.float32) ** 2.2
    assert linear.score(ref, ref.copy())["ssimulacra2"] == pytest.approx(100.0, abs=1e-6)


@pytest.mark.parametrize(
    "distorted, message",
    [
        (np.zeros((64, 64, 3), np.int32), "dtype int32"),
        (np.zeros((64, 64, 3), np.float64), "dtype float64"),
        (np.zeros((64, 64, 2), np.uint8), "shape [64, 64, 2]"),
        (np.zeros((2, 64, 64, 3), np.uint8), "shape [2, 64, 64, 3]"),
        (np.zeros((0, 64, 3), np.uint8), "has no pixels"),
        (np.zeros((64, 128, 3), np.uint8)[:, ::2], "not C-contiguous"),
        ("no/such/file.png", "no/such/file.png"),
        (12, "is a int"),
    ],
)
def test_bad_arrays_and_paths_are_refused_by_name(distorted, message):
    scorer = qscore.Scorer(["psnr"], backend="cpu")
    reference = np.zeros((64, 64, 3), np.uint8)
    with pytest.raises(qscore.InvalidInputError) as raised:
        scorer.score(reference, distorted)
    # Arrays are named by their argument, files by their path.
    assert message in str(raised.value)
    assert str(raised.value).startswith("distorted" if not isinstance(distorted, str) else distorted)
    assert isinstance(raised.value, ValueError)


def test_sizes_and_formats_that_differ_fail_alone():
    scorer = qscore.Scorer(["psnr"], backend="cpu")
    reference = np.zeros((64, 64, 3), np.uint8)
    good = np.full((64, 64, 3), 3, np.uint8)
    results = scorer.score_many(
        reference,
        [good, np.zeros((32, 64, 3), np.uint8), np.zeros((64, 64), np.uint8), good],
        errors="return",
    )
    assert results[0]["psnr"] == results[3]["psnr"] > 0
    assert isinstance(results[1], qscore.InvalidInputError)
    assert "distorted[1]" in str(results[1]) and "64x32" in str(results[1])
    assert isinstance(results[2], qscore.InvalidInputError)
    assert "distorted[2]" in str(results[2])
    with pytest.raises(qscore.InvalidInputError, match=r"distorted\[1\]"):
        scorer.score_many(reference, [good, np.zeros((32, 64, 3), np.uint8)])


def test_bad_requests_raise_their_category():
    with pytest.raises(qscore.InvalidInputError, match="nope"):
        qscore.Scorer(["nope"])
    with pytest.raises(qscore.InvalidInputError, match="no plugin named"):
        qscore.Scorer(["psnr"], backend="nosuch")
    with pytest.raises(qscore.InvalidInputError, match="intensity"):
        qscore.Scorer(["butteraugli"], params={"butteraugli": {"nosuch": 1}}).score(
            np.zeros((32, 32, 3), np.uint8), np.zeros((32, 32, 3), np.uint8)
        )
    with pytest.raises(qscore.UnsupportedError, match="vmaf"):
        qscore.Scorer(["vmaf"]).score(np.zeros((32, 32), np.uint8), np.zeros((32, 32), np.uint8))


def test_parameters_reach_the_metric():
    reference, distorted = load("flower_512.png"), load("flower_512__jpeg_q40.png")
    default = qscore.Scorer(["butteraugli"], backend="cpu").score(reference, distorted)
    bright = qscore.Scorer(
        ["butteraugli"], backend="cpu", params={"butteraugli.intensity_target": 250}
    ).score(reference, distorted)
    assert bright["butteraugli"] != default["butteraugli"]


def test_threads_score_at_once_with_their_own_results():
    import threading

    scorer = qscore.Scorer(["psnr", "ssim"], backend="cpu", workers=2)
    rng = np.random.default_rng(11)
    reference = rng.integers(0, 256, (96, 80, 3), dtype=np.uint8)
    inputs = [
        [np.clip(reference + rng.normal(0, s, reference.shape), 0, 255).astype(np.uint8)
         for s in range(1 + t, 9 + t)]
        for t in range(4)
    ]
    expected = [scorer.score_many(reference, images) for images in inputs]
    got: list = [None] * 4

    def work(t: int) -> None:
        got[t] = [scorer.score(reference, image) for image in inputs[t]]

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert got == expected

"""Shared by the Python tests: where the test data is, and its golden values.

The tests run against the installed wheel (see `wheel.rs`, which builds it, installs it
into a fresh virtual environment and runs pytest), never against the source folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(os.environ.get("QSCORE_REPO_ROOT", Path(__file__).resolve().parents[2]))
DATA = REPO / "data"
IMAGES = DATA / "images"
VIDEO = DATA / "video"

# The Rust conformance suite's tolerances against these goldens (tolerances.rs).
ABSOLUTE = {"psnr": 1e-6, "ssim": 1e-5, "ssimulacra2": 1e-4}
RELATIVE = {"butteraugli_max": 1e-4, "butteraugli_pnorm3": 1e-4}


def image_goldens() -> list[dict]:
    return json.loads((IMAGES / "golden.json").read_text())["pairs"]


def video_golden() -> dict:
    return json.loads((VIDEO / "golden.json").read_text())


def assert_close(name: str, ours: float, expected: float) -> None:
    if name in RELATIVE:
        bound = RELATIVE[name] * abs(expected)
    else:
        bound = ABSOLUTE[name]
    assert abs(ours - expected) <= bound, f"{name}: {ours} vs {expected} (bound {bound})"


def require(kind: str) -> bool:
    """Whether CI requires this (so a missing prerequisite fails instead of skipping)."""
    return kind in os.environ.get("QSCORE_REQUIRE_DEVICES", "").split(",")


@pytest.fixture(scope="session")
def sim_plugin() -> Path | None:
    path = os.environ.get("QSCORE_TEST_SIM_PLUGIN")
    return Path(path) if path else None

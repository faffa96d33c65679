"""Plugin discovery from the package: the CPU plugin built in, the GPU plugins shipped
inside the package, `QSCORE_PLUGIN_PATH` honoured, and the GPU kernels run through the
wgpu plugin (on lavapipe in CI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import qscore
from conftest import IMAGES, assert_close, image_goldens, require

PACKAGE = Path(qscore.__file__).resolve().parent


def by_name() -> dict[str, dict]:
    return {p["name"]: p for p in qscore.plugins()}


def test_the_cpu_plugin_is_built_in_and_the_gpu_plugins_come_from_the_package():
    plugins = by_name()
    assert plugins["cpu"]["built_in"] is True
    assert Path(plugins["cpu"]["path"]).parent == PACKAGE
    for name in ["wgpu", "cuda", "hip"]:
        assert name in plugins, (name, qscore.plugin_errors())
        assert plugins[name]["built_in"] is False
        assert Path(plugins[name]["path"]).parent == PACKAGE / "plugins"
    assert qscore.plugin_errors() == []


def plugins_in_child(env: dict[str, str]) -> list[dict]:
    script = "import json, qscore; print(json.dumps(qscore.plugins()))"
    out = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, **env},
        capture_output=True,
        check=True,
    )
    return json.loads(out.stdout)


def test_qscore_plugin_path_adds_plugins_and_a_cpu_file_replaces_the_built_in(
    tmp_path, sim_plugin
):
    if sim_plugin is None:
        pytest.skip("QSCORE_TEST_SIM_PLUGIN not set (the Rust test driver sets it)")
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / sim_plugin.name).write_bytes(sim_plugin.read_bytes())
    found = {p["name"]: p for p in plugins_in_child({"QSCORE_PLUGIN_PATH": str(folder)})}
    assert Path(found["sim"]["path"]).parent == folder
    assert found["cpu"]["built_in"] is True
    cpu_file = Path(os.environ["QSCORE_TEST_CPU_PLUGIN"])
    (folder / cpu_file.name).write_bytes(cpu_file.read_bytes())
    found = {p["name"]: p for p in plugins_in_child({"QSCORE_PLUGIN_PATH": str(folder)})}
    assert found["cpu"]["built_in"] is False
    assert Path(found["cpu"]["path"]).parent == folder


def test_the_wgpu_plugin_scores_within_its_tolerance():
    wgpu = by_name()["wgpu"]
    if not wgpu["devices"]:
        if require("wgpu"):
            pytest.fail(f"no wgpu device: {wgpu['device_note']}")
        pytest.skip(f"no wgpu device: {wgpu['device_note']}")
    pair = next(p for p in image_goldens() if p["distorted"] == "flower_517x389__jpeg_q40.png")
    reference = np.asarray(Image.open(IMAGES / pair["reference"]).convert("RGB"))
    distorted = np.asarray(Image.open(IMAGES / pair["distorted"]).convert("RGB"))
    result = qscore.Scorer(["psnr", "ssim"], backend="wgpu").score(reference, distorted)
    assert result["backend_used"] == "wgpu"
    # The GPU kernels' declared tolerances against the goldens (tolerances.rs: f32 sums).
    assert abs(result["psnr"] - pair["psnr"]) <= 1e-4
    assert abs(result["ssim"] - pair["ssim"]) <= 1e-5

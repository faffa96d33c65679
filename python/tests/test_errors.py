"""Each category of plugin error reaches Python as its exception, through the simulated
GPU plugin (its misbehaviour configured by `QSCORE_SIM_CONFIG`). Plugins load once per
process, so each case runs in a child interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, numpy as np, qscore
    image = np.zeros((64, 64, 3), np.uint8)
    try:
        scorer = qscore.Scorer(["psnr"], backend="sim")
        scorer.score(image, image + 1)
        scorer.score(image, image + 2)
        print(json.dumps({"raised": None}))
    except qscore.QscoreError as error:
        print(json.dumps({
            "raised": type(error).__name__,
            "message": str(error),
            "memory_error": isinstance(error, MemoryError),
            "needed": getattr(error, "needed", None),
            "available": getattr(error, "available", None),
        }))
    """
)


def raised(sim_plugin, tmp_path, config: dict) -> dict:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / sim_plugin.name).write_bytes(sim_plugin.read_bytes())
    env = {
        **os.environ,
        "QSCORE_PLUGIN_PATH": str(folder),
        "QSCORE_SIM_CONFIG": json.dumps(config),
        # What one case teaches the capability cache must not reach the next.
        "QSCORE_CACHE_DIR": str(tmp_path / "cache"),
    }
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, check=True
    )
    return json.loads(out.stdout)


@pytest.fixture
def sim(sim_plugin):
    if sim_plugin is None:
        pytest.skip("QSCORE_TEST_SIM_PLUGIN not set (the Rust test driver sets it)")
    return sim_plugin


def test_out_of_memory_carries_the_bytes(sim, tmp_path):
    result = raised(sim, tmp_path, {"oom_every": 1})
    assert result["raised"] == "OutOfMemoryError", result
    assert result["memory_error"] is True
    assert result["needed"] > 0 and result["available"] > 0, result


def test_a_lost_device_is_its_own_exception(sim, tmp_path):
    result = raised(sim, tmp_path, {"device_lost_after": 1})
    assert result["raised"] == "DeviceLostError", result
    assert "device lost" in result["message"]


def test_a_plugin_that_panics_is_a_qscore_error(sim, tmp_path):
    result = raised(sim, tmp_path, {"panic": "compare"})
    assert result["raised"] == "QscoreError", result
    assert "panic" in result["message"]

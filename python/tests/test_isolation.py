"""The `qscore` executable the package ships: the command it installs, and the worker
processes in which plugins that may crash run, so that a crash in a plugin's native code
fails its call instead of the Python process. Plugins load once per process, so each case
runs in a child interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import qscore

PACKAGE = Path(qscore.__file__).resolve().parent

SCRIPT = textwrap.dedent(
    """
    import json, numpy as np, qscore
    image = np.zeros((64, 64, 3), np.uint8)
    sim = next(p for p in qscore.plugins() if p["name"] == "sim")
    try:
        qscore.Scorer(["psnr"], backend="sim").score(image, image + 1)
        outcome = None
    except qscore.QscoreError as error:
        outcome = str(error)
    after = qscore.Scorer(["psnr"], backend="cpu").score(image, image + 1)
    print(json.dumps({"isolated": sim["isolated"], "error": outcome, "after": after["psnr"]}))
    """
)


def in_child(sim_plugin, tmp_path, config: dict, **env: str) -> subprocess.CompletedProcess:
    folder = tmp_path / "plugins"
    folder.mkdir(exist_ok=True)
    (folder / sim_plugin.name).write_bytes(sim_plugin.read_bytes())
    child_env = {
        **os.environ,
        "QSCORE_PLUGIN_PATH": str(folder),
        "QSCORE_SIM_CONFIG": json.dumps(config),
        "QSCORE_CACHE_DIR": str(tmp_path / "cache"),
    }
    child_env.pop("QSCORE_ISOLATE", None)
    child_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", SCRIPT], env=child_env, capture_output=True, text=True
    )


@pytest.fixture
def sim(sim_plugin):
    if sim_plugin is None:
        pytest.skip("QSCORE_TEST_SIM_PLUGIN not set (the Rust test driver sets it)")
    return sim_plugin


def test_the_package_installs_the_qscore_command_with_its_plugins():
    command = Path(sys.executable).parent / "qscore"
    version = subprocess.run([command, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.split() == ["qscore", qscore.__version__]
    listed = subprocess.run(
        [command, "plugins", "--json"], capture_output=True, text=True, check=True
    )
    plugins = {p["name"]: p for p in json.loads(listed.stdout)["plugins"]}
    assert plugins["cpu"]["built_in"] is True
    for name in ["wgpu", "cuda", "hip"]:
        assert Path(plugins[name]["path"]).parent == PACKAGE / "plugins", plugins[name]


def test_a_plugin_that_segfaults_fails_its_call_and_python_goes_on(sim, tmp_path):
    child = in_child(sim, tmp_path, {"segfault": "compare"})
    assert child.returncode == 0, child.stderr
    result = json.loads(child.stdout)
    assert result["isolated"] is True
    assert "crash in plugin sim" in result["error"], result
    assert "SIGSEGV" in result["error"], result
    # 64×64×3 samples one apart: MSE 1, so 10·log10(255²).
    assert abs(result["after"] - 48.1308036086791) < 1e-9


def test_without_isolation_the_same_crash_takes_python_down(sim, tmp_path):
    child = in_child(sim, tmp_path, {"segfault": "compare"}, QSCORE_ISOLATE="none")
    assert child.returncode == -11, (child.returncode, child.stdout, child.stderr)


def test_a_plugin_that_hangs_is_stopped_after_the_timeout(sim, tmp_path):
    child = in_child(sim, tmp_path, {"hang": "compare"}, QSCORE_PLUGIN_TIMEOUT="2")
    assert child.returncode == 0, child.stderr
    result = json.loads(child.stdout)
    assert "did not answer" in result["error"], result


def test_an_unknown_isolation_is_refused_on_import():
    child = subprocess.run(
        [sys.executable, "-c", "import qscore"],
        env={**os.environ, "QSCORE_ISOLATE": "sometimes"},
        capture_output=True,
        text=True,
    )
    assert child.returncode != 0
    assert "QSCORE_ISOLATE" in child.stderr and "sometimes" in child.stderr, child.stderr

"""The ``qscore`` command that installing the package puts on PATH: it runs the qscore
executable shipped in the package, beside the GPU plugins it finds there."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def executable() -> Path:
    """The package's ``qscore`` executable (it may be missing from a build without it)."""
    name = "qscore.exe" if os.name == "nt" else "qscore"
    return Path(__file__).resolve().parent / "plugins" / name


def main() -> None:
    exe = executable()
    if not os.access(exe, os.X_OK):
        sys.exit(f"qscore: this installation has no qscore executable ({exe})")
    os.execv(exe, [str(exe), *sys.argv[1:]])

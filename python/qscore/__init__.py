"""qscore: image and video quality metrics on every CPU and GPU.

PSNR, SSIM, MS-SSIM, SSIMULACRA2, butteraugli and VMAF (with its features VIF, ADM and
motion), computed by qscore's own CPU code (built into this package) or by its GPU plugins
(shipped in ``qscore/plugins``; more are found in the folders of ``QSCORE_PLUGIN_PATH``).

Four calls:

>>> import qscore
>>> [p["name"] for p in qscore.plugins()]                      # doctest: +SKIP
['wgpu', 'cuda', 'hip', 'cpu']
>>> scorer = qscore.Scorer(["psnr", "ssimulacra2"])
>>> scorer.score("ref.png", "dist.png")                        # doctest: +SKIP
{'psnr': 31.2, 'ssimulacra2': 71.9, 'backend_used': 'cpu'}
>>> qscore.score_video("ref.y4m", "dist.mp4", ["vmaf"])["vmaf"]  # doctest: +SKIP
93.4
>>> qscore.batch("pairs.csv", "scores.parquet", ["psnr", "ssim"])["scored"]  # doctest: +SKIP
200

Errors are :class:`QscoreError` subclasses (``qscore.errors``). Scoring releases the GIL,
and Ctrl-C interrupts it: work in flight stops, a batch keeps its finished rows, and
``KeyboardInterrupt`` is raised.
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Sequence, Union

from . import _native
from .errors import (
    DeviceLostError,
    InvalidInputError,
    OutOfMemoryError,
    QscoreError,
    UnsupportedError,
)

__version__: str = _native.__version__

# The GPU plugin files and the `qscore` executable shipped inside the package (the CPU
# plugin is built in); plugins that may crash run in worker processes of that executable,
# as `QSCORE_ISOLATE` (all, none, auto: the default) says.
_native.configure(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "plugins"),
    os.environ.get("QSCORE_ISOLATE"),
)

#: An image: a numpy array (H×W or H×W×1 grey, H×W×3 RGB, H×W×4 RGBA of uint8 or uint16;
#: H×W×3 float32 linear RGB), or the path of a PNG, JPEG, PPM/PGM or TIFF file.
Image = Any
PathLike = Union[str, "os.PathLike[str]"]


def _metric_list(metrics: str | Iterable[str]) -> list[str]:
    if isinstance(metrics, str):
        return [m.strip() for m in metrics.split(",") if m.strip()]
    return list(metrics)


def plugins() -> list[dict[str, Any]]:
    """Every loaded plugin, as ``qscore plugins --json`` describes it.

    Each dict has ``name``, ``version``, ``family``, ``path``, ``built_in`` (the CPU plugin
    compiled into qscore) and ``devices``, each with its free memory and ``metrics``.

    >>> cpu = next(p for p in qscore.plugins() if p["name"] == "cpu")  # doctest: +SKIP
    >>> sorted(m["metric"] for m in cpu["devices"][0]["metrics"])[:3]  # doctest: +SKIP
    ['adm', 'butteraugli', 'motion']
    """
    return _native.plugins()["plugins"]


def plugin_errors() -> list[str]:
    """Every plugin file that was found but failed to load, with the reason."""
    return _native.plugins()["errors"]


class Scorer:
    """Scores images with chosen metrics; the reference is prepared once per call and
    reused across calls while it stays the same.

    Args:
        metrics: metric ids (``"psnr"``, ``"ssim"``, ``"ms_ssim"``, ``"ssimulacra2"``,
            ``"butteraugli"``) or output names (``"psnr_y"``, ``"butteraugli_pnorm3"``),
            as a list or a comma-separated string.
        backend: use only this plugin (``"cpu"``, ``"wgpu"``, ``"cuda"``, ``"hip"``);
            default: the fastest that fits, by measured cost, falling back on failure.
        params: metric parameters, ``{"butteraugli.intensity_target": 250}`` or
            ``{"butteraugli": {"intensity_target": 250}}``.
        workers: CPU threads (default: every logical CPU).

    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> ref = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    >>> noisy = np.clip(ref + rng.normal(0, 8, ref.shape), 0, 255).astype(np.uint8)
    >>> scorer = qscore.Scorer("psnr,ssim", backend="cpu")
    >>> result = scorer.score(ref, noisy)
    >>> sorted(result)
    ['backend_used', 'psnr', 'ssim']
    >>> round(result["psnr"], 1) > 25
    True
    """

    def __init__(
        self,
        metrics: str | Iterable[str],
        backend: str | None = None,
        params: dict[str, Any] | None = None,
        workers: int | None = None,
    ) -> None:
        self._native = _native.Scorer(_metric_list(metrics), backend, params, workers)

    @property
    def metrics(self) -> list[str]:
        """The metric or output names asked for."""
        return self._native.metrics

    def score(self, reference: Image, distorted: Image) -> dict[str, Any]:
        """Scores ``distorted`` against ``reference``: a dict of named values (e.g.
        ``psnr``, ``psnr_y``) and ``backend_used`` (the plugin that scored them, or
        ``"metric=plugin,…"`` when metrics ran on different plugins).

        A distorted file is converted to the reference's pixel format; arrays must share
        it. The PSNR of identical images is ``inf``.
        """
        return self._native.score(reference, distorted)

    def score_many(
        self, reference: Image, distorted: Sequence[Image], errors: str = "raise"
    ) -> list[Any]:
        """Scores every distorted input against ``reference``, prepared once; results in
        input order.

        With ``errors="raise"`` the first failed input raises its exception (after all are
        scored); with ``errors="return"`` the list holds that exception in its place and
        the others' dicts.

        >>> scorer.score_many(ref, [noisy, ref])[1]["psnr"]   # doctest: +SKIP
        inf
        """
        return self._native.score_many(reference, list(distorted), errors)

    def reference_counts(self) -> dict[str, int]:
        """``{"reused": n, "prepared": m}``: comparisons that found their reference already
        prepared, and preparations made, since this scorer was created."""
        return self._native.reference_counts()

    def __repr__(self) -> str:
        return f"qscore.Scorer({self.metrics!r})"


def score_video(
    reference: PathLike,
    distorted: PathLike,
    metrics: str | Iterable[str],
    per_frame: bool = False,
    *,
    backend: str | None = None,
    params: dict[str, Any] | None = None,
    workers: int | None = None,
    **decode_options: Any,
) -> dict[str, Any]:
    """Scores a distorted clip against its reference, frame by frame.

    Inputs: Y4M, anything ffmpeg reads (MP4, MKV, …; ffmpeg must be installed), or raw
    YUV with ``size="576x324", pix_fmt="yuv420p10le"``. ``frames=N`` scores only the
    first N frames. ``scale="bicubic"`` (or another of ffmpeg's scalers) decodes a
    distorted clip of another size or pixel format to the reference's, as VMAF scores a
    lower rung of a bitrate ladder. ``subsample=N`` scores only every Nth frame (0, N,
    2N, …) as libvmaf's ``n_subsample`` does; the result then has ``frame_numbers``. Metrics: ``vmaf`` (and ``vif``, ``adm``, ``motion``, ``motion2``) and
    every image metric, per frame.

    Returns the mean of every value over the frames (``result["vmaf"]``), ``pooled``
    statistics per value (mean, harmonic_mean, min, max, p5, p50, p95), ``frame_count``,
    ``backend_used`` and, with ``per_frame=True``, ``frames``: one dict per frame.

    >>> r = qscore.score_video("ref.y4m", "dist.y4m", "vmaf", per_frame=True)  # doctest: +SKIP
    >>> r["vmaf"], r["frames"][0]["vmaf"]                                      # doctest: +SKIP
    (82.57, 83.86)
    """
    unknown = set(decode_options) - {"size", "pix_fmt", "frames", "scale", "subsample"}
    if unknown:
        raise InvalidInputError(
            f"score_video: unknown option(s) {sorted(unknown)} (decode options: size, "
            "pix_fmt, frames, scale, subsample)"
        )
    return _native.score_video(
        os.fspath(reference),
        os.fspath(distorted),
        _metric_list(metrics),
        per_frame,
        backend=backend,
        params=params,
        workers=workers,
        **decode_options,
    )


def batch(
    manifest: PathLike,
    out: PathLike,
    metrics: str | Iterable[str] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Scores every row of a manifest into one table, as ``qscore batch`` does.

    The manifest is CSV with a header (or JSONL): ``reference``, ``distorted``, optionally
    ``metric`` (else ``metrics`` applies), ``width``/``height``/``pix_fmt`` for raw video,
    and any other columns, which are carried into the output. ``out`` ends in ``.csv``,
    ``.jsonl`` or ``.parquet`` (read it with ``pandas.read_parquet``).

    Finished rows are kept in a journal as they complete: calling again with the same
    ``out`` (after a crash, a full disk or Ctrl-C) scores only the rest. Rows that failed go
    to ``OUT.failures.jsonl``, and ``retry_failed=True`` runs only those again.

    Options: ``params``, ``backend``, ``workers``, ``max_concurrent_decodes``,
    ``task_timeout`` (seconds per pair), ``retry_failed``, ``shard="I/N"``, ``quiet``
    (default True: no progress bar), ``scale`` and ``subsample`` (as for
    :func:`score_video`).

    Returns the run's summary: ``scored``, ``failed``, ``skipped_done``, ``output_rows``,
    ``failing``, ``seconds``, ``backends`` (rows per plugin), ``references_reused``, … and
    the paths ``out``, ``journal`` and ``failures``.

    >>> summary = qscore.batch("pairs.csv", "scores.parquet", "psnr,ssim")  # doctest: +SKIP
    >>> import pandas; pandas.read_parquet(summary["out"]).head()          # doctest: +SKIP
    """
    allowed = {
        "params",
        "backend",
        "workers",
        "max_concurrent_decodes",
        "task_timeout",
        "retry_failed",
        "shard",
        "quiet",
        "scale",
        "subsample",
    }
    unknown = set(options) - allowed
    if unknown:
        raise InvalidInputError(
            f"batch: unknown option(s) {sorted(unknown)} (options: {', '.join(sorted(allowed))})"
        )
    return _native.batch(
        os.fspath(manifest),
        os.fspath(out),
        None if metrics is None else _metric_list(metrics),
        **options,
    )


__all__ = [
    "Scorer",
    "plugins",
    "plugin_errors",
    "score_video",
    "batch",
    "QscoreError",
    "InvalidInputError",
    "UnsupportedError",
    "OutOfMemoryError",
    "DeviceLostError",
    "__version__",
]

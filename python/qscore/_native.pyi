"""Type stubs of qscore's extension module (use the API in ``qscore`` itself)."""

from typing import Any, Sequence

__version__: str

def configure(plugin_dir: str, isolate: str | None = None) -> None: ...
def plugins() -> dict[str, Any]: ...

class Scorer:
    def __init__(
        self,
        metrics: list[str],
        backend: str | None = None,
        params: dict[str, Any] | None = None,
        workers: int | None = None,
    ) -> None: ...
    @property
    def metrics(self) -> list[str]: ...
    def reference_counts(self) -> dict[str, int]: ...
    def score(self, reference: Any, distorted: Any) -> dict[str, Any]: ...
    def score_many(
        self, reference: Any, distorted: Sequence[Any], errors: str = "raise"
    ) -> list[Any]: ...

def score_video(
    reference: str,
    distorted: str,
    metrics: list[str],
    per_frame: bool = False,
    *,
    backend: str | None = None,
    params: dict[str, Any] | None = None,
    workers: int | None = None,
    size: str | None = None,
    pix_fmt: str | None = None,
    frames: int | None = None,
    scale: str | None = None,
    subsample: int = 1,
) -> dict[str, Any]: ...
def batch(
    manifest: str,
    out: str,
    metrics: list[str] | None = None,
    *,
    params: dict[str, Any] | None = None,
    backend: str | None = None,
    workers: int | None = None,
    max_concurrent_decodes: int | None = None,
    task_timeout: float | None = None,
    retry_failed: bool = False,
    shard: str | None = None,
    quiet: bool = True,
    scale: str | None = None,
    subsample: int = 1,
) -> dict[str, Any]: ...

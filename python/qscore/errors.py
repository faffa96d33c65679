"""The exceptions qscore raises, one per category of error its plugins report.

Every one is a :class:`QscoreError`; the categories also derive from the matching built-in
exception, so ``except ValueError`` catches bad input and ``except MemoryError`` catches
a device that ran out of memory.
"""

from __future__ import annotations


class QscoreError(Exception):
    """Scoring failed (a plugin's internal error, a time limit, a worker failure)."""


class InvalidInputError(QscoreError, ValueError):
    """The input is wrong: an unreadable or undecodable file, an array of the wrong dtype,
    shape or layout, sizes that differ, an unknown metric or parameter. The message names
    the input (its path, or ``reference`` / ``distorted[i]`` for arrays)."""


class UnsupportedError(QscoreError):
    """No loaded plugin can do this (a metric on this format or size, a video metric on
    images, a backend without the metric)."""


class OutOfMemoryError(QscoreError, MemoryError):
    """Every backend tried ran out of memory.

    Attributes:
        needed: bytes the last try needed (0 when the plugin could not tell).
        available: bytes that were free then (0 when the plugin could not tell).
    """

    needed: int = 0
    available: int = 0


class DeviceLostError(QscoreError):
    """The device stopped working and is not used again by this process."""


__all__ = [
    "QscoreError",
    "InvalidInputError",
    "UnsupportedError",
    "OutOfMemoryError",
    "DeviceLostError",
]

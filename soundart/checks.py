"""Numbers checked at the door: every job refuses a non-finite or absurd argument before any work.

The messages name the *argument* (``"seconds must be > 0, got 0"``); the CLI rewrites the name into
its flag with ``soundart.commands.common.flags_in_errors``.
"""

from __future__ import annotations

import math
import numbers

from soundart.errors import ConfigError

SEED_MAX = 2**32 - 1


def _fmt(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else f"{bound:g}"


def check_number(name: str, value: float | int | None, lo: float | None = None, hi: float | None = None, *,
                 lo_open: bool = False, integer: bool = False, unit: str = "") -> None:
    """A ConfigError naming ``name`` unless ``value`` is None or a finite number in range.

    Parameters
    ----------
    lo, hi : inclusive bounds (None: unbounded); ``lo_open`` makes the lower one exclusive
        (``lo=0, lo_open=True``: "must be > 0").
    integer : the value must be a whole number (an int, or a float such as 3.0).
    unit : printed after the bound in the message, e.g. " s".
    """
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value}")
    if integer and not float(value).is_integer():
        raise ConfigError(f"{name} must be a whole number, got {value}")
    if lo is not None and (value < lo or (lo_open and value == lo)):
        raise ConfigError(f"{name} must be {'>' if lo_open else '>='} {_fmt(lo)}{unit}, got {value}")
    if hi is not None and value > hi:
        raise ConfigError(f"{name} must be <= {_fmt(hi)}{unit}, got {value}")


def check_seed(seed: int | None) -> None:
    """The seed range every generator accepts (0 .. 2**32-1)."""
    check_number("seed", seed, 0, SEED_MAX, integer=True)


SR_RANGE = (1000, 384000)  # Hz: below, not audio worth a spectrogram; above, no converter makes it


def check_sr(sr: int | None, name: str = "sr") -> None:
    """A sample rate in Hz: a whole number > 0 (said so first, the common slip), within SR_RANGE."""
    check_number(name, sr, 0, lo_open=True, integer=True)
    check_number(name, sr, *SR_RANGE, unit=" Hz")

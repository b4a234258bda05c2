"""The value checks every Go2 params block uses (torch-free): one ConfigError line naming the key."""
import math
from typing import Tuple

from fastembody_core import ConfigError


def check_number(value: float, key: str, low: float = -math.inf, allow_equal: bool = True) -> float:
    """``value`` as a finite float >= ``low`` (> ``low`` unless ``allow_equal``), else ConfigError naming ``key``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"expected a number, got {value!r}", key=key) from None
    ok = number >= low if allow_equal else number > low
    if not math.isfinite(number) or not ok:
        raise ConfigError(f"must be a finite number {'>=' if allow_equal else '>'} {low:g}, got {value!r}", key=key)
    return number


def check_positive(value: float, key: str, allow_zero: bool = False) -> float:
    """``value`` as a finite float > 0 (>= 0 with ``allow_zero``), else ConfigError naming ``key``."""
    return check_number(value, key, 0.0, allow_equal=allow_zero)


def check_int(value: int, key: str, low: int) -> int:
    """``value`` if it is an integer (not a bool) >= ``low``, else ConfigError naming ``key``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"must be an integer >= {low}, got {value!r}", key=key)
    return value


def check_range(value: Tuple[float, float], key: str, low: float = -math.inf) -> Tuple[float, float]:
    """``value`` as a ``(min, max)`` pair of finite floats with ``low <= min <= max``, else ConfigError."""
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"expected a [min, max] pair of numbers, got {value!r}", key=key) from None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ConfigError(f"expected finite numbers, got [{lo}, {hi}]", key=key)
    if lo > hi:
        raise ConfigError(f"min {lo} > max {hi}; a range is [min, max] with min <= max", key=key)
    if lo < low:
        raise ConfigError(f"min {lo} is below the allowed minimum {low}", key=key)
    return (lo, hi)

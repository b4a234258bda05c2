"""Value checks for params dataclasses (torch-free): each returns the checked value or raises one ConfigError line
naming the key. Plugins call them from ``__post_init__``; the core adds the config file and the section's path.

    @dataclass
    class MyParams:
        learning_rate: float = 1e-3
        activation: str = "elu"

        def __post_init__(self):
            self.learning_rate = check_positive(self.learning_rate, "learning_rate")
            check_one_of(self.activation, "activation", ACTIVATION_NAMES)
"""
import math
from typing import Any, Sequence, Tuple

from .errors import ConfigError

ACTIVATION_NAMES = ("elu", "selu", "relu", "lrelu", "tanh", "sigmoid", "gelu", "silu", "identity")
"""Activations ``fastembody_core.build_mlp`` knows (its table of torch modules has exactly these keys)."""

__all__ = ["ACTIVATION_NAMES", "check_fraction", "check_int", "check_number", "check_one_of", "check_positive",
           "check_range"]


def check_number(value: Any, key: str, low: float = -math.inf, allow_equal: bool = True) -> float:
    """``value`` as a finite float >= ``low`` (> ``low`` unless ``allow_equal``), else ConfigError naming ``key``."""
    if isinstance(value, bool):
        raise ConfigError(f"expected a number, got {value!r}", key=key)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"expected a number, got {value!r}", key=key) from None
    ok = number >= low if allow_equal else number > low
    if not math.isfinite(number) or not ok:
        raise ConfigError(f"must be a finite number {'>=' if allow_equal else '>'} {low:g}, got {value!r}", key=key)
    return number


def check_positive(value: Any, key: str, allow_zero: bool = False) -> float:
    """``value`` as a finite float > 0 (>= 0 with ``allow_zero``), else ConfigError naming ``key``."""
    return check_number(value, key, 0.0, allow_equal=allow_zero)


def check_fraction(value: Any, key: str) -> float:
    """``value`` as a float in [0, 1] (a probability, a discount), else ConfigError naming ``key``."""
    number = check_number(value, key)
    if not 0.0 <= number <= 1.0:
        raise ConfigError(f"must be in [0, 1], got {value!r}", key=key)
    return number


def check_int(value: Any, key: str, low: int) -> int:
    """``value`` if it is an integer (not a bool) >= ``low``, else ConfigError naming ``key``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"must be an integer >= {low}, got {value!r}", key=key)
    return value


def check_one_of(value: Any, key: str, allowed: Sequence[Any]) -> Any:
    """``value`` if it is one of ``allowed``, else ConfigError listing them."""
    if value not in allowed:
        raise ConfigError(f"unknown value {value!r}; allowed: {', '.join(str(a) for a in allowed)}", key=key)
    return value


def check_range(value: Any, key: str, low: float = -math.inf) -> Tuple[float, float]:
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

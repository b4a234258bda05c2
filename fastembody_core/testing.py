"""Helpers for the tests of FastEmbody and of plugins: the seed and precision of *learning tests*.

A learning test trains something and asserts a margin (reward up, loss down). Its margin must hold for any seed
and on any x86 CPU, in fp32 and in bf16, so such a test is marked ``@pytest.mark.learning`` and takes its seed
(and, where it trains a network in a selectable precision, its precision) from these helpers rather than from a
constant. ``scripts/seed_sweep`` then reruns every learning test with ``FASTEMBODY_TEST_SEED`` and
``FASTEMBODY_TEST_PRECISION`` set, across many seeds and both precisions (docs/testing.md).

``check_vector_env(env)`` and ``check_algorithm(make_algorithm, env)`` (from :mod:`.contract_checks`, imported on
first use) check an env or algorithm against the contracts: what a plugin author runs in their own tests.

Torch-free until a check is used.
"""
import os
from typing import Any

SEED_VARIABLE = "FASTEMBODY_TEST_SEED"
PRECISION_VARIABLE = "FASTEMBODY_TEST_PRECISION"
PRECISIONS = ("fp32", "bf16")

__all__ = ["PRECISIONS", "PRECISION_VARIABLE", "SEED_VARIABLE", "check_algorithm", "check_vector_env",
           "learning_precision", "learning_seed"]


def __getattr__(name: str) -> Any:
    if name in ("check_vector_env", "check_algorithm"):
        from . import contract_checks

        return getattr(contract_checks, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def learning_seed(default: int = 0) -> int:
    """The seed a learning test uses: ``$FASTEMBODY_TEST_SEED`` when set, else ``default``."""
    text = os.environ.get(SEED_VARIABLE, "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{SEED_VARIABLE} must be an integer, got {text!r}") from None


def learning_precision(default: str = "fp32") -> str:
    """The matmul precision a learning test trains in: ``$FASTEMBODY_TEST_PRECISION`` (fp32 or bf16) when set,
    else ``default``."""
    text = os.environ.get(PRECISION_VARIABLE, "").strip().lower()
    if not text:
        return default
    if text not in PRECISIONS:
        raise ValueError(f"{PRECISION_VARIABLE} must be one of {', '.join(PRECISIONS)}, got {text!r}")
    return text

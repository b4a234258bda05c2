"""Per-iteration callbacks: how the code that starts a run (a sweep, a notebook, a test) watches it and stops it early.

::

    from fastembody_core import iteration_callbacks

    def watch(iteration, metrics):
        if iteration >= 5 and metrics.get("Train/mean_reward", 0.0) < -40:
            return "reward below -40 after 5 iterations"    # a reason: the run stops
        return None                                          # go on

    with iteration_callbacks(watch):
        run_experiment(experiment, run_dir=...)

A trainer calls :func:`end_of_iteration` after logging each iteration (the core's ``on-policy`` trainer does). When
a callback returns a reason, the trainer saves a checkpoint, stops as after its last iteration (the run dir is a
normal, finished run: ``eval``, ``export`` and ``play`` work on it) and puts the reason in its summary under
``"stopped"``. Callbacks are per thread and per process (a ``ContextVar``): a run under torchrun sees none.

Torch-free.
"""
import contextlib
import contextvars
from typing import Callable, Iterator, Mapping, Optional, Tuple

IterationCallback = Callable[[int, Mapping[str, float]], Optional[str]]
"""``callback(iteration, metrics) -> None`` to go on, or a non-empty reason to stop the run after this iteration."""

_ACTIVE = contextvars.ContextVar("fastembody_iteration_callbacks", default=())  # type: contextvars.ContextVar

__all__ = ["IterationCallback", "end_of_iteration", "iteration_callbacks"]


@contextlib.contextmanager
def iteration_callbacks(*callbacks: IterationCallback) -> Iterator[None]:
    """Within the block, every run this thread trains calls ``callbacks`` at the end of each iteration."""
    token = _ACTIVE.set(tuple(_ACTIVE.get()) + tuple(callbacks))
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def end_of_iteration(iteration: int, metrics: Mapping[str, float]) -> Optional[str]:
    """Call every active callback with the iteration's metrics; the first reason returned (if any) stops the run."""
    reason: Optional[str] = None
    active: Tuple[IterationCallback, ...] = _ACTIVE.get()
    for callback in active:
        answer = callback(iteration, metrics)
        if answer and reason is None:
            reason = str(answer)
    return reason

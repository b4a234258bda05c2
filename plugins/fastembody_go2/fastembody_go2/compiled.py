"""``torch.compile`` with an eager fallback, shared by the Go2 envs."""
import sys
import warnings
from typing import Any, Callable, Optional, Set

import torch

_announced: Set[str] = set()


class MaybeCompiled:
    """``torch.compile(fn)`` when asked and available; eager (with one warning naming ``env``) if compiling fails.

    The first compiled call of an env in a process prints one line saying that compiling is under way (the first
    iteration of a run otherwise looks hung for up to a minute)."""

    def __init__(self, fn: Callable[..., Any], enabled: bool, env: str):
        self.fn = fn
        self.env = env
        self.compiled: Optional[Callable[..., Any]] = None
        self._first_call = True
        if enabled and hasattr(torch, "compile"):
            self.compiled = torch.compile(fn, dynamic=False)

    def __call__(self, *args: Any) -> Any:
        if self.compiled is not None:
            try:
                if self._first_call:
                    return self._first_compiled_call(*args)
                return self.compiled(*args)
            except Exception as exc:  # no C++ compiler, unsupported platform...: eager is always correct
                warnings.warn(f"{self.env}: torch.compile failed ({type(exc).__name__}: {str(exc)[:200]}); running "
                              f"eager (set compile: false to silence)", RuntimeWarning, stacklevel=2)
                self.compiled = None
        return self.fn(*args)

    def _first_compiled_call(self, *args: Any) -> Any:
        if self.env not in _announced:
            _announced.add(self.env)
            print(f"{self.env}: compiling its maths with torch.compile (once per process: about a minute on a fresh "
                  f"machine, seconds when torch's cache is warm; env.params.compile=false skips it) ...",
                  file=sys.stderr, flush=True)
        out = self.compiled(*args)  # type: ignore[misc]
        self._first_call = False
        return out

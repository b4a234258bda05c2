"""``torch.compile`` with an eager fallback, shared by the Go2 envs."""
import warnings
from typing import Any, Callable, Optional

import torch


class MaybeCompiled:
    """``torch.compile(fn)`` when asked and available; eager (with one warning naming ``env``) if compiling fails."""

    def __init__(self, fn: Callable[..., Any], enabled: bool, env: str):
        self.fn = fn
        self.env = env
        self.compiled: Optional[Callable[..., Any]] = None
        if enabled and hasattr(torch, "compile"):
            self.compiled = torch.compile(fn, dynamic=False)

    def __call__(self, *args: Any) -> Any:
        if self.compiled is not None:
            try:
                return self.compiled(*args)
            except Exception as exc:  # no C++ compiler, unsupported platform...: eager is always correct
                warnings.warn(f"{self.env}: torch.compile failed ({type(exc).__name__}: {str(exc)[:200]}); running "
                              f"eager (set compile: false to silence)", RuntimeWarning, stacklevel=2)
                self.compiled = None
        return self.fn(*args)

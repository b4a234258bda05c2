"""``torch.compile`` with an eager fallback for the Go2 envs: the core's ``maybe_compile`` with their switch."""
from typing import Any, Callable

from fastembody_core import maybe_compile


def MaybeCompiled(fn: Callable[..., Any], enabled: bool, env: str) -> Callable[..., Any]:  # noqa: N802 - call sites
    """``fn`` compiled on its first call when ``enabled`` (one notice per env and process, the shared compile cache,
    eager with one warning if compiling fails); ``env`` names the env in those lines."""
    return maybe_compile(fn, enabled, env, switch="env.params.compile=false")

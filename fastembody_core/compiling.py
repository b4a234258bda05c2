"""``torch.compile`` paid once: a lazy compiled callable with an eager fallback, and a compile cache shared by processes.

Every compile in FastEmbody goes through :func:`maybe_compile`. The first compile of a process prints one line on
stderr (what is compiled, how to switch it off, whether torch's cache served it). Compiled artifacts land in
:func:`compile_cache_dir` (a user-level directory; ``TORCHINDUCTOR_CACHE_DIR`` when the user sets it), so a second
process, or the run after ``scripts/setup.sh`` warmed it, loads them instead of compiling. A cache directory that
cannot be written is one warning, and compiling goes on in a directory of its own. Torch-free at import.
"""
import contextlib
import io
import os
import shutil
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Sequence, Set

CACHE_VARIABLE = "TORCHINDUCTOR_CACHE_DIR"
"""The environment variable torch's inductor reads its cache directory from (a user's own value is respected)."""
MIN_FREE_BYTES = 64 * 2**20
"""Less free space than this in the cache's file system counts as full (go2-toy's graphs take ~10 MB)."""

_lock = threading.Lock()
_prepared: Optional[str] = None
_announced: Set[str] = set()


def compile_cache_dir() -> Path:
    """Where compiled artifacts are kept: ``$TORCHINDUCTOR_CACHE_DIR`` if set, else
    ``$XDG_CACHE_HOME/fastembody/torch_compile`` (``~/.cache/...``): per user, kept across reboots, unlike torch's
    default under /tmp."""
    own = os.environ.get(CACHE_VARIABLE)
    if own and own != _torch_default_cache_dir():
        return Path(own).expanduser().absolute()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base).absolute() / "fastembody" / "torch_compile"


def _torch_default_cache_dir() -> Optional[str]:
    """torch's own default (``/tmp/torchinductor_<user>``) once its inductor is loaded: torch writes it into
    ``TORCHINDUCTOR_CACHE_DIR`` the first time it asks for a cache directory (importing ``torch._dynamo`` does), so
    that value there is torch's, not the user's, choice."""
    utils = sys.modules.get("torch._inductor.runtime.cache_dir_utils")
    default = getattr(utils, "default_cache_dir", None)
    try:
        return default() if default is not None else None
    except Exception:  # noqa: BLE001 - a torch without it: every value is the user's
        return None


def _unusable(directory: Path) -> Optional[str]:
    """Why ``directory`` cannot hold the cache (not writable, full), or None."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".fastembody_probe_"):
            pass
        free = shutil.disk_usage(directory).free
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    if free < MIN_FREE_BYTES:
        return f"only {free // 2**20} MiB free"
    return None


def prepare_compile_cache() -> str:
    """Point torch at :func:`compile_cache_dir` (once per process, before the first compile) and return the directory
    used. An unwritable or full one is one warning; this process then compiles into a temporary directory."""
    global _prepared
    with _lock:
        if _prepared is not None:
            return _prepared
        directory = compile_cache_dir()
        why = _unusable(directory)
        if why is not None:
            fallback = tempfile.mkdtemp(prefix="fastembody_compile_")
            warnings.warn(f"compile cache {directory} is unusable ({why}): compiling without reuse across processes "
                          f"(set {CACHE_VARIABLE} to a writable directory)", RuntimeWarning, stacklevel=3)
            directory = Path(fallback)
        os.environ[CACHE_VARIABLE] = str(directory)
        _prepared = str(directory)
        return _prepared


def cache_counters() -> Dict[str, int]:
    """torch's compile-cache counters of this process: ``fxgraph_cache_hit`` / ``_miss`` / ``_bypass`` (inductor's
    generated code) and ``autograd_cache_hit`` / ``_miss`` / ``_bypass`` (AOTAutograd's graphs)."""
    from torch._dynamo.utils import counters

    names = {"inductor": ("fxgraph_cache_hit", "fxgraph_cache_miss", "fxgraph_cache_bypass"),
             "aot_autograd": ("autograd_cache_hit", "autograd_cache_miss", "autograd_cache_bypass")}
    return {name: int(counters[group][name]) for group, group_names in names.items() for name in group_names}


def _cache_verdict(before: Dict[str, int], after: Dict[str, int]) -> str:
    delta = {k: after[k] - before[k] for k in after}
    if delta["fxgraph_cache_miss"]:
        return f"compiled {delta['fxgraph_cache_miss']} graph(s), now cached"
    if delta["fxgraph_cache_hit"]:
        return "from the cache"
    if delta["fxgraph_cache_bypass"]:
        return "not cacheable"
    return "nothing to compile"


class Compiled:
    """A callable that runs ``torch.compile(fn, dynamic=False)`` from its first call on (eager when disabled).

    ``compiled`` is the compiled callable once built (None when disabled or after a fallback). If compiling fails
    (no C++ compiler, an unsupported platform or op), one warning names ``what`` and later calls run ``fn`` eager:
    eager is always correct."""

    def __init__(self, fn: Callable[..., Any], enabled: bool, what: str, switch: str = "compile: false"):
        self.fn = fn
        self.what = what
        self.switch = switch
        self.enabled = enabled
        self.compiled: Optional[Callable[..., Any]] = None
        self._called = False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self.enabled:
            return self.fn(*args, **kwargs)
        try:
            if not self._called:
                return self._first_call(*args, **kwargs)
            return self._later_call(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - eager is the fallback for every compile failure
            self.enabled, self.compiled = False, None
            warnings.warn(f"{self.what}: torch.compile failed ({type(exc).__name__}: {str(exc)[:200]}); running eager "
                          f"({self.switch} silences this)", RuntimeWarning, stacklevel=2)
        return self.fn(*args, **kwargs)

    def _first_call(self, *args: Any, **kwargs: Any) -> Any:
        import torch

        if not hasattr(torch, "compile"):
            raise RuntimeError(f"needs torch >= 2.0, found {torch.__version__}")
        directory = prepare_compile_cache()
        self.compiled = torch.compile(self.fn, dynamic=False)
        announce = self.what not in _announced
        _announced.add(self.what)
        if announce:  # one line per `what` and process; the first call looks hung otherwise
            print(f"{self.what}: torch.compile (cache {directory}; {self.switch} skips it) ...", end="",
                  file=sys.stderr, flush=True)
        before, start = cache_counters(), time.perf_counter()
        try:
            out = self.compiled(*args, **kwargs)
        except Exception:
            if announce:
                print(" failed", file=sys.stderr, flush=True)
            raise
        if announce:
            print(f" {time.perf_counter() - start:.1f} s, {_cache_verdict(before, cache_counters())}",
                  file=sys.stderr, flush=True)
        self._called = True
        return out

    def _later_call(self, *args: Any, **kwargs: Any) -> Any:
        """A call after the first: torch recompiles for new input shapes or modes (``dynamic=False``; e.g. PPO's
        minibatches after its rollout). When inductor generated code for it (not a load from the cache, which takes
        a fraction of a second), one line says so, after the fact: the counters tell."""
        before, start = _graphs_compiled(), time.perf_counter()
        out = self.compiled(*args, **kwargs)  # type: ignore[misc]
        compiled = _graphs_compiled() - before
        if compiled:
            print(f"{self.what}: torch.compile for new input shapes: {time.perf_counter() - start:.1f} s, compiled "
                  f"{compiled} graph(s), now cached", file=sys.stderr, flush=True)
        return out


def _graphs_compiled() -> int:
    """Graphs inductor generated code for in this process (cache misses): cheap enough to read on every call."""
    from torch._dynamo.utils import counters

    return counters["inductor"]["fxgraph_cache_miss"]


def maybe_compile(fn: Callable[..., Any], enabled: bool, what: str, switch: str = "compile: false") -> Compiled:
    """``fn`` (a function or an ``nn.Module``) compiled on its first call when ``enabled``, else ``fn`` run eager.

    ``what`` names it in the one-line notice (``"go2-toy"``, ``"ppo"``) and ``switch`` says how to turn it off
    (``"env.params.compile=false"``). See :class:`Compiled`."""
    return Compiled(fn, enabled, what, switch)


def warm_compile_cache(config: str, overrides: Sequence[str] = ()) -> Dict[str, Any]:
    """Run one iteration of the experiment in ``config`` (in a temporary run dir, stdout silenced) so that what it
    compiles lands in :func:`compile_cache_dir`; return what was compiled (the cache counters' change, seconds)."""
    from .config import load_experiment
    from .pipeline import run_experiment

    extra = ["trainer.params.max_iterations=1", "run.preview=false"]
    experiment = load_experiment(Path(config), [*overrides, *extra])
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fastembody_warm_") as run_dir, contextlib.redirect_stdout(io.StringIO()):
        # torch only once loaded: an env may need its simulator imported before torch (Isaac Gym)
        before = cache_counters() if "torch" in sys.modules else {}
        run_experiment(experiment, run_dir=Path(run_dir) / "run")
        after = cache_counters()
    delta = {k: after[k] - before.get(k, 0) for k in after}
    return {"seconds": time.perf_counter() - start, "cache_dir": _prepared, **delta}


def _main(argv: Sequence[str]) -> int:
    """``python -m fastembody_core.compiling CONFIG [KEY=VALUE ...]``: warm the compile cache for CONFIG (setup.sh)."""
    from .errors import FastEmbodyError

    if not argv:
        print("usage: python -m fastembody_core.compiling CONFIG [KEY=VALUE ...]", file=sys.stderr)
        return 2
    from fastembody_core.compiling import warm_compile_cache as warm  # the module the plugins import, not __main__

    try:
        done = warm(argv[0], argv[1:])
    except FastEmbodyError as exc:
        print(f"warming the compile cache failed: {exc}", file=sys.stderr)
        return 1
    graphs = done["fxgraph_cache_miss"] + done["fxgraph_cache_hit"]
    if done["cache_dir"] is None:
        print(f"{argv[0]} compiles nothing (its env and algorithm run eager): no compile cache to warm")
    else:
        print(f"Compile cache warmed for {argv[0]} in {done['seconds']:.0f} s: {graphs} graph(s), "
              f"{done['fxgraph_cache_miss']} compiled, {done['fxgraph_cache_hit']} already cached ({done['cache_dir']})")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))

"""maybe_compile: the compile cache is reused by a second process (asserted on torch's cache counters, not on time),
an unusable cache directory is one warning and compiling still works, a failing compile falls back to eager."""
import importlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Tuple

import pytest

from fastembody_core import compiling

PROBE = """
import json, sys
import torch
from fastembody_core import maybe_compile
from fastembody_core.compiling import cache_counters

def f(x):
    return torch.relu(torch.sin(x) * 2.0 + 1.0)

g = maybe_compile(f, True, "probe", "nothing")
x = torch.linspace(-3.0, 3.0, 64)
close = bool(torch.allclose(g(x), f(x), atol=1e-5))
g(x + 1.0)  # same shape: no compile
y = torch.linspace(-3.0, 3.0, 32)  # a new shape: torch compiles again (dynamic=False), one more notice
close = close and bool(torch.allclose(g(y), f(y), atol=1e-5))
print(json.dumps({"close": close, "compiled": g.compiled is not None, **cache_counters()}))
"""


def probe(cache: Path) -> Tuple[dict, str]:
    """Compile a small function in a fresh process with ``cache`` as the compile cache: (its counters, its stderr)."""
    env = {**os.environ, compiling.CACHE_VARIABLE: str(cache), "TORCHINDUCTOR_FX_GRAPH_CACHE": "1"}
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def test_a_second_process_loads_the_compiled_graph_from_the_cache(tmp_path):
    cache = tmp_path / "cache"
    first, notice = probe(cache)
    assert first["close"] and first["compiled"]
    assert first["fxgraph_cache_miss"] >= 1 and first["fxgraph_cache_hit"] == 0  # compiled, then stored
    lines = [line for line in notice.splitlines() if line.startswith("probe: torch.compile")]
    assert len(lines) == 2 and all("now cached" in line for line in lines), notice  # one line per compile
    assert str(cache) in lines[0] and "for new input shapes" in lines[1]
    second, notice = probe(cache)
    assert second["close"] and second["compiled"]
    assert second["fxgraph_cache_hit"] >= 2 and second["fxgraph_cache_miss"] == 0  # loaded, no inductor codegen
    lines = [line for line in notice.splitlines() if line.startswith("probe: torch.compile")]
    assert len(lines) == 1 and "from the cache" in lines[0], notice  # loads after the first call: silent


def test_an_unwritable_cache_dir_is_one_warning_and_compiling_still_works(tmp_path):
    blocked = tmp_path / "a_file"
    blocked.write_text("")
    result, stderr = probe(blocked / "cache")  # no one, root included, can create a directory under a file
    assert result["close"] and result["compiled"] and result["fxgraph_cache_miss"] >= 1
    warning = [line for line in stderr.splitlines() if "compile cache" in line]
    assert len(warning) == 1 and "unusable" in warning[0] and "Traceback" not in stderr


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_cache_dir_is_one_warning_and_compiling_still_works(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    cache.chmod(0o555)
    try:
        result, stderr = probe(cache)
    finally:
        cache.chmod(0o755)
    assert result["close"] and result["compiled"]
    assert sum("unusable" in line for line in stderr.splitlines()) == 1


@pytest.fixture
def fresh_cache_state(monkeypatch, tmp_path):
    """No cache prepared yet in this process; the environment variable restored afterwards."""
    monkeypatch.setattr(compiling, "_prepared", None)
    monkeypatch.setenv(compiling.CACHE_VARIABLE, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_the_default_cache_is_per_user_and_a_users_own_directory_is_respected(monkeypatch, tmp_path):
    monkeypatch.delenv(compiling.CACHE_VARIABLE, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert compiling.compile_cache_dir() == tmp_path / "fastembody" / "torch_compile"
    monkeypatch.setenv(compiling.CACHE_VARIABLE, str(tmp_path / "mine"))
    assert compiling.compile_cache_dir() == tmp_path / "mine"


def test_a_usable_cache_dir_is_handed_to_torch(fresh_cache_state):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert compiling.prepare_compile_cache() == str(fresh_cache_state)
    assert os.environ[compiling.CACHE_VARIABLE] == str(fresh_cache_state)


@pytest.mark.parametrize("failure", ["read-only", "full"])
def test_a_read_only_or_full_cache_dir_falls_back_to_a_private_one(fresh_cache_state, monkeypatch, failure):
    if failure == "read-only":
        def refuse(*args, **kwargs):
            raise OSError(30, "Read-only file system")
        monkeypatch.setattr(compiling.tempfile, "NamedTemporaryFile", refuse)
    else:
        monkeypatch.setattr(compiling.shutil, "disk_usage", lambda path: type("Usage", (), {"free": 1024})())
    with pytest.warns(RuntimeWarning, match="unusable") as caught:
        used = compiling.prepare_compile_cache()
    assert len(caught) == 1 and str(fresh_cache_state) in str(caught[0].message)
    assert used != str(fresh_cache_state) and Path(used).is_dir() and os.environ[compiling.CACHE_VARIABLE] == used
    assert compiling.prepare_compile_cache() == used  # once per process


def test_disabled_runs_eager_and_a_failing_compile_falls_back_with_one_warning(fresh_cache_state, monkeypatch):
    import torch

    calls = []
    eager = compiling.maybe_compile(lambda x: calls.append(x) or x + 1, False, "off")
    assert eager(1) == 2 and eager.compiled is None and calls == [1]

    def broken(fn, **kwargs):
        def fail(*args):
            raise RuntimeError("no C++ compiler")
        return fail
    monkeypatch.setattr(torch, "compile", broken)
    failing = compiling.maybe_compile(lambda x: x * 2, True, "toy", "env.params.compile=false")
    with pytest.warns(RuntimeWarning, match="toy: torch.compile failed .*no C\\+\\+ compiler.*env.params.compile=false"):
        assert failing(3) == 6
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert failing(4) == 8  # eager from then on, no second warning
    assert failing.compiled is None


def test_importing_the_module_stays_torch_free():
    code = "import sys, fastembody_core.compiling; sys.exit(1 if 'torch' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_torchs_own_default_in_the_environment_does_not_replace_the_per_user_cache(monkeypatch, tmp_path):
    """Importing torch._dynamo writes torch's /tmp default into TORCHINDUCTOR_CACHE_DIR; that is not a user's choice."""
    importlib.import_module("torch._dynamo.utils")  # the import that sets it
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv(compiling.CACHE_VARIABLE, default_cache_dir())
    assert compiling.compile_cache_dir() == tmp_path / "fastembody" / "torch_compile"

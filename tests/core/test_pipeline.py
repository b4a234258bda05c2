"""The pipeline: preload before torch, run directory layout, resolved config, device checks."""
import subprocess
import sys
import textwrap

import pytest

from fastembody_core import CheckpointError, ConfigError
from fastembody_core.config import experiment_from_dict
from fastembody_core.pipeline import resolve_device, resolve_run_dir

PRELOAD_SCRIPT = textwrap.dedent(
    """
    import sys
    from fastembody_core import get_registry, hookimpl

    def make_env(params, ctx):
        import fake_sim
        assert fake_sim.TORCH_LOADED_FIRST is False
        class Env:
            def spec(self): return None
            def close(self): pass
        return Env()

    class Plugin:
        @hookimpl
        def register_envs(self, register):
            register("pre-env", make_env, preload="fake_sim", description="needs fake_sim before torch")
        @hookimpl
        def register_algorithms(self, register):
            register("noop", lambda spec, params, ctx: object(), description="does nothing")
        @hookimpl
        def register_trainers(self, register):
            register("noop", lambda env, alg, params, ctx: type("T", (), {"train": lambda self: {"ok": 1}})())

    get_registry().register_plugin(Plugin(), name="preload-test")
    from fastembody_core.config import experiment_from_dict
    from fastembody_core.pipeline import run_experiment
    exp = experiment_from_dict({"name": "p", "env": {"name": "pre-env"}, "algorithm": {"name": "noop"},
                                "trainer": {"name": "noop"}})
    assert "torch" not in sys.modules
    print(run_experiment(exp, run_dir=sys.argv[1]))
    """
)


def test_preload_module_is_imported_before_torch(tmp_path):
    (tmp_path / "fake_sim.py").write_text("import sys\nTORCH_LOADED_FIRST = 'torch' in sys.modules\n")
    script = tmp_path / "run.py"
    script.write_text(PRELOAD_SCRIPT)
    env = {"PYTHONPATH": str(tmp_path), "PATH": ""}
    out = subprocess.run([sys.executable, str(script), str(tmp_path / "run")], capture_output=True, text=True,
                         env={**__import__("os").environ, **env})
    assert out.returncode == 0, out.stderr
    assert "'ok': 1" in out.stdout
    assert (tmp_path / "run" / "config.resolved.yaml").is_file()


def _exp(register_plugin, root):
    from fastembody_core import hookimpl

    class P:
        @hookimpl
        def register_envs(self, register):
            register("e", lambda p, c: None)

        @hookimpl
        def register_algorithms(self, register):
            register("a", lambda s, p, c: None)

    register_plugin(P(), "pipeline-test")
    return experiment_from_dict({"name": "exp", "env": {"name": "e"}, "algorithm": {"name": "a"},
                                 "run": {"root": str(root)}})


def test_run_dir_resolution(register_plugin, tmp_path):
    exp = _exp(register_plugin, tmp_path)
    with pytest.raises(CheckpointError, match="--resume: no earlier run of 'exp'"):
        resolve_run_dir(exp, None, resume=True)
    first = resolve_run_dir(exp, None, resume=False)
    assert first.parent == tmp_path / "exp"
    first.mkdir(parents=True)
    assert resolve_run_dir(exp, None, resume=True) == first
    assert resolve_run_dir(exp, tmp_path / "mine", resume=False) == tmp_path / "mine"
    with pytest.raises(CheckpointError, match="does not exist"):
        resolve_run_dir(exp, tmp_path / "nowhere", resume=True)


def test_device_checks():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in ("cpu", "cuda")
    with pytest.raises(ConfigError, match="unknown device 'gpu0'"):
        resolve_device("gpu0")


def test_make_env_builds_a_registered_env_from_a_params_dict(register_plugin):
    from dataclasses import dataclass

    from fastembody_core import hookimpl, make_env

    @dataclass
    class Params:
        num_envs: int = 4
        speed: float = 1.0

    class Plugin:
        @hookimpl
        def register_envs(self, register):
            register("dict-env", lambda params, ctx: (params, ctx.seed), params=Params)

    register_plugin(Plugin(), "dict-env-plugin")
    params, seed = make_env("dict-env", {"num_envs": 1})
    assert params == Params(num_envs=1, speed=1.0) and seed == 0
    with pytest.raises(ConfigError, match=r"--set: env.params.spede: unknown key"):
        make_env("dict-env", {"spede": 2.0}, source="--set")

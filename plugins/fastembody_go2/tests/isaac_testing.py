"""What the go2-isaac tests share: paths, the legged_gym stand-in's environment for a subprocess, a tiny run."""
import json
import os
import shutil
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
STANDIN = HERE / "isaac_standin"
"""A stand-in of isaacgym / legged_gym / rsl_rl's documented contract (put first on PYTHONPATH)."""
FASTEMBODY = shutil.which("fastembody") or str(Path(sys.executable).with_name("fastembody"))


def standin_env(*paths: Path, **extra: str) -> Dict[str, str]:
    """This process's environment with ``paths`` first on PYTHONPATH and ``extra`` set (the stand-in's
    ``STANDIN_LEGGED_GYM`` switch only when given)."""
    env = {k: v for k, v in os.environ.items() if k != "STANDIN_LEGGED_GYM"}
    env.update(extra)
    env["PYTHONPATH"] = os.pathsep.join([str(p) for p in paths] + [os.environ.get("PYTHONPATH", "")])
    return env


def tiny_run(save_interval: int = 2) -> List[str]:
    """``--set`` arguments for a PPO run of a few seconds on the stand-in (32 envs, 3 iterations)."""
    settings = [
        "device=cpu", "env.params.num_envs=32", "env.params.cfg_overrides.env.episode_length_s=0.5",
        "algorithm.params.actor_hidden_dims=[32,32]", "algorithm.params.critic_hidden_dims=[32,32]",
        "algorithm.params.num_learning_epochs=2", "trainer.params.max_iterations=3",
        "trainer.params.num_steps_per_env=16", f"trainer.params.save_interval={save_interval}",
        "trainer.params.progress=false",
    ]
    return [arg for setting in settings for arg in ("--set", setting)]


class Probe:
    """Checks that build an env in a fresh process (Isaac Gym must be imported before torch, which pytest's process
    already has): a test file registers them with :meth:`check`, calls :meth:`main` when run as a script, and its
    tests read :meth:`results` (check -> "ok" or the failure), run with the stand-in first on PYTHONPATH."""

    def __init__(self, script: str):
        self.script = Path(script)
        self.checks: Dict[str, Callable[[], None]] = {}

    def check(self, fn: Callable[[], None]) -> Callable[[], None]:
        self.checks[fn.__name__] = fn
        return fn

    def results(self, names: Sequence[str], **extra: str) -> Dict[str, str]:
        out = subprocess.run([sys.executable, str(self.script), *names], capture_output=True, text=True,
                             env=standin_env(STANDIN, **extra), timeout=300, cwd=ROOT)
        assert out.returncode == 0, out.stderr[-3000:]
        return json.loads(out.stdout.strip().splitlines()[-1])

    def main(self, names: Sequence[str]) -> None:
        import fastembody_go2.isaac.preload  # noqa: F401  (isaacgym before torch, as the pipeline does)

        results = {}
        for name in names or list(self.checks):
            try:
                self.checks[name]()
                results[name] = "ok"
            except Exception:  # noqa: BLE001  (reported to the test)
                results[name] = traceback.format_exc()[-2500:]
        print(json.dumps(results))


def make_go2_isaac(params: Any, seed: int = 3) -> Any:
    """``go2-isaac``'s env for ``params`` (run inside a probe)."""
    from fastembody_core import RunContext
    from fastembody_go2.isaac.env import make_legged_gym_env

    return make_legged_gym_env("go2", params, RunContext(device="cpu", seed=seed))

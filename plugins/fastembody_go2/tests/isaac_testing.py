"""What the go2-isaac tests share: paths, the legged_gym stand-in's environment for a subprocess, a tiny run."""
import os
import shutil
import sys
from pathlib import Path
from typing import Dict, List

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

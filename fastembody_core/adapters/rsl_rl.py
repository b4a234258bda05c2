"""Any FastEmbody ``VectorEnv`` as an rsl_rl 5.x ``VecEnv``, so ``rsl_rl.runners.OnPolicyRunner`` can drive it.

rsl-rl-lib (and its tensordict) stay optional: ``pip install rsl-rl-lib -c constraints.txt``::

    from rsl_rl.runners import OnPolicyRunner
    from fastembody_core.adapters.rsl_rl import RslRlVecEnv

    runner = OnPolicyRunner(RslRlVecEnv(env), train_cfg, log_dir=None, device="cpu")
    runner.learn(100)

Observations become a ``TensorDict`` of the env's groups (``"policy"``, ``"critic"``, ...); ``extras`` pass
through unchanged (``"time_outs"``, and ``"episode"`` which rsl_rl logs as ``Episode/<key>``).
"""
from typing import Any, Dict, Optional, Tuple

import torch

from ..contracts import VectorEnv
from ..errors import EnvError

try:
    from rsl_rl.env import VecEnv as _RslRlVecEnv
    from tensordict import TensorDict
except ImportError as _exc:  # pragma: no cover - exercised only without rsl-rl-lib
    raise EnvError("fastembody_core.adapters.rsl_rl needs rsl-rl-lib: pip install rsl-rl-lib -c constraints.txt") from _exc


class RslRlVecEnv(_RslRlVecEnv):
    """rsl_rl's VecEnv view of ``env``: TensorDict observations, settable ``episode_length_buf``, ``cfg``."""

    def __init__(self, env: VectorEnv, cfg: Optional[Dict[str, Any]] = None, reset: bool = True):
        self.env = env
        self.num_envs = int(env.num_envs)
        self.num_actions = int(env.num_actions)
        self.max_episode_length = int(env.max_episode_length)
        self.device = torch.device(getattr(env, "device", "cpu"))
        self.cfg = dict(cfg) if cfg is not None else dict(getattr(env, "cfg", None) or {})
        self._obs = self._wrap(env.reset() if reset else env.get_observations())

    @property
    def episode_length_buf(self) -> torch.Tensor:  # type: ignore[override]
        return self.env.episode_length_buf

    @episode_length_buf.setter
    def episode_length_buf(self, value: torch.Tensor) -> None:
        self.env.episode_length_buf = value

    def get_observations(self) -> "TensorDict":
        return self._obs

    def step(self, actions: torch.Tensor) -> Tuple["TensorDict", torch.Tensor, torch.Tensor, Dict[str, Any]]:
        obs, rewards, dones, extras = self.env.step(actions)
        self._obs = self._wrap(obs)
        return self._obs, rewards, dones, extras

    def close(self) -> None:
        self.env.close()

    def _wrap(self, obs: Dict[str, torch.Tensor]) -> "TensorDict":
        return TensorDict(dict(obs), batch_size=[self.num_envs], device=self.device)

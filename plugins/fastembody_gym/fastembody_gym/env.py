"""A gymnasium vector env behind FastEmbody's ``VectorEnv`` contract.

Autoreset: gymnasium 1.x vector envs default to ``NEXT_STEP`` autoreset: the step that ends an episode returns
the episode's *final* observation, and the *next* ``step`` call resets that env, ignoring its action and
returning reward 0 and done False. Fed to PPO as is, every episode boundary would add a fake transition
(final obs -> reset obs, reward 0, not done) and the policy would act once on a terminal state.
FastEmbody's contract is the other one (rsl_rl's): ``step`` auto-resets in the same call and returns the first
observation of the next episode for done envs. gymnasium >= 1.1 implements exactly that as ``SAME_STEP``
autoreset (the final observation goes to ``info["final_obs"]``), so this env asks for it and refuses older
gymnasium versions with a named error rather than silently training on fake transitions.
Done = terminated or truncated; ``extras["time_outs"]`` = truncated and not terminated (PPO bootstraps those).
"""
from typing import Any, Dict, Optional

import numpy as np
import torch

from fastembody_core import EnvError, Observations, StepResult, VectorEnv

from .config import GymEnvParams


def _import_gymnasium() -> Any:
    try:
        import gymnasium
    except ImportError as exc:
        raise EnvError("gym:* envs need gymnasium: pip install 'gymnasium>=1.1'") from exc
    if not hasattr(gymnasium.vector, "AutoresetMode"):
        raise EnvError(
            f"gym:* envs need gymnasium >= 1.1 (same-step autoreset), found {gymnasium.__version__}: "
            "pip install -U 'gymnasium>=1.1'"
        )
    return gymnasium


class GymVectorEnv(VectorEnv):
    """``num_envs`` copies of a gymnasium env (Box observations and actions) stepped on torch tensors."""

    def __init__(self, env_id: str, params: GymEnvParams, seed: int = 0, device: Any = "cpu"):
        gym = _import_gymnasium()
        self.params = params
        self.env_id = env_id
        self.device = torch.device(device)
        try:
            spec = gym.spec(env_id)
        except Exception as exc:  # gymnasium raises several NameNotFound/VersionNotFound classes
            raise EnvError(f"env 'gym:{env_id}': {type(exc).__name__}: {exc}") from exc
        limit = params.max_episode_steps or spec.max_episode_steps
        kwargs: Dict[str, Any] = {}
        if params.max_episode_steps is not None:
            kwargs["max_episode_steps"] = params.max_episode_steps
        try:
            self.envs = gym.make_vec(
                env_id,
                num_envs=params.num_envs,
                vectorization_mode=params.vectorization_mode,
                vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
                **kwargs,
            )
        except Exception as exc:  # missing extras such as mujoco surface here
            raise EnvError(f"env 'gym:{env_id}' cannot be built: {type(exc).__name__}: {exc}") from exc
        obs_space, act_space = self.envs.single_observation_space, self.envs.single_action_space
        if not isinstance(act_space, gym.spaces.Box) or not isinstance(obs_space, gym.spaces.Box):
            self.envs.close()
            raise EnvError(
                f"env 'gym:{env_id}': needs Box observation and action spaces, got "
                f"{type(obs_space).__name__} observations and {type(act_space).__name__} actions"
            )
        self.num_envs = params.num_envs
        self.num_actions = int(np.prod(act_space.shape))
        self.observation_shapes = {"policy": (int(np.prod(obs_space.shape)),)}
        self.max_episode_length = int(limit) if limit else 1_000_000
        self.step_dt = _step_dt(self.envs)
        self.cfg = {"env_id": env_id, "num_envs": params.num_envs}
        self._low = act_space.low.reshape(-1).astype(np.float64)
        self._high = act_space.high.reshape(-1).astype(np.float64)
        self._action_dtype = act_space.dtype
        self._seed = seed
        self.episode_length_buf = torch.zeros(self.num_envs, dtype=torch.long, device=self.device)
        self._episode_return = np.zeros(self.num_envs)
        self._discounted_return = np.zeros(self.num_envs)
        self._return_var = _RunningVariance()
        self._obs: Optional[Observations] = None
        self.envs.action_space.seed(seed)

    def reset(self) -> Observations:
        obs, _ = self.envs.reset(seed=self._seed)
        self.episode_length_buf.zero_()
        self._episode_return[:] = 0.0
        self._discounted_return[:] = 0.0
        self._obs = self._to_obs(obs)
        return self._obs

    def get_observations(self) -> Observations:
        return self.reset() if self._obs is None else self._obs

    def step(self, actions: torch.Tensor) -> StepResult:
        if self._obs is None:
            self.reset()
        a = actions.detach().to("cpu", torch.float64).numpy().reshape(self.num_envs, -1)
        if not np.isfinite(a).all():
            raise EnvError(f"env 'gym:{self.env_id}': actions contain NaN/inf")
        if self.params.rescale_actions:
            a = self._low + (np.clip(a, -1.0, 1.0) + 1.0) * 0.5 * (self._high - self._low)
        else:
            a = np.clip(a, self._low, self._high)
        obs, reward, terminated, truncated, _ = self.envs.step(a.astype(self._action_dtype).reshape(self.envs.action_space.shape))
        reward = np.asarray(reward, dtype=np.float64)
        done = np.logical_or(terminated, truncated)
        extras: Dict[str, Any] = {"time_outs": torch.as_tensor(truncated & ~terminated, device=self.device)}

        self._episode_return += reward
        self.episode_length_buf += 1
        if done.any():
            ended = torch.as_tensor(done, device=self.device)
            extras["episode"] = {
                "return": torch.as_tensor(self._episode_return[done], dtype=torch.float32),
                "length": self.episode_length_buf[ended].float().cpu(),
            }
            self._episode_return[done] = 0.0
            self.episode_length_buf[ended] = 0

        reward = self._shape_reward(reward, done)
        self._obs = self._to_obs(obs)
        return (
            self._obs,
            torch.as_tensor(reward, dtype=torch.float32, device=self.device),
            torch.as_tensor(done, device=self.device),
            extras,
        )

    def close(self) -> None:
        self.envs.close()

    # -- helpers -------------------------------------------------------------------------------------
    def _shape_reward(self, reward: np.ndarray, done: np.ndarray) -> np.ndarray:
        p = self.params
        reward = reward * p.reward_scale
        if p.normalize_reward:  # gymnasium's NormalizeReward, vectorised: scale by the std of the discounted return
            self._discounted_return = self._discounted_return * p.reward_gamma + reward
            self._return_var.update(self._discounted_return)
            self._discounted_return[done] = 0.0
            reward = reward / np.sqrt(self._return_var.var + 1e-8)
        if p.clip_reward is not None:
            reward = np.clip(reward, -p.clip_reward, p.clip_reward)
        return reward

    def _to_obs(self, obs: np.ndarray) -> Observations:
        flat = torch.as_tensor(np.asarray(obs, dtype=np.float32).reshape(self.num_envs, -1), device=self.device)
        return {"policy": flat}


def _step_dt(envs: Any) -> float:
    """Seconds per step when the env says (``dt`` of MuJoCo and classic-control envs), else 0."""
    try:
        return float(envs.get_attr("dt")[0])
    except Exception:
        return 0.0


class _RunningVariance:
    """Running variance over batches (Chan et al.), as gymnasium's RunningMeanStd."""

    def __init__(self) -> None:
        self.mean, self.var, self.count = 0.0, 1.0, 1e-4

    def update(self, x: np.ndarray) -> None:
        batch_mean, batch_var, n = float(x.mean()), float(x.var()), x.size
        delta, total = batch_mean - self.mean, self.count + n
        self.mean += delta * n / total
        self.var = (self.var * self.count + batch_var * n + delta**2 * self.count * n / total) / total
        self.count = total

"""rsl_rl's OnPolicyRunner drives a FastEmbody VectorEnv through fastembody_core.adapters.rsl_rl."""
import pytest
import torch

from fastembody_core import VectorEnv

import rsl_rl  # noqa: F401,E402  (installed by scripts/setup.sh: missing, this fails, never skips)
import tensordict  # noqa: F401,E402  (installed by scripts/setup.sh: missing, this fails, never skips)


class CountingEnv(VectorEnv):
    """Observations count steps; an episode times out after 5 steps."""

    def __init__(self, num_envs=8):
        self.num_envs, self.num_actions, self.max_episode_length, self.step_dt = num_envs, 2, 5, 0.1
        self.device = torch.device("cpu")
        self.observation_shapes = {"policy": (3,), "critic": (4,)}
        self.episode_length_buf = torch.zeros(num_envs, dtype=torch.long)
        self.resets = 0

    def reset(self):
        self.resets += 1
        self.episode_length_buf.zero_()
        return self.get_observations()

    def get_observations(self):
        t = self.episode_length_buf.float().unsqueeze(1)
        return {"policy": t.repeat(1, 3), "critic": t.repeat(1, 4)}

    def step(self, actions):
        assert actions.shape == (self.num_envs, 2)
        self.episode_length_buf += 1
        dones = self.episode_length_buf >= self.max_episode_length
        self.episode_length_buf[dones] = 0
        extras = {"time_outs": dones.clone(), "episode": {"progress": torch.ones(1)}}
        return self.get_observations(), -actions.square().sum(1), dones, extras


def test_adapter_exposes_the_rsl_rl_vecenv_interface():
    from rsl_rl.env import VecEnv
    from tensordict import TensorDict

    from fastembody_core.adapters.rsl_rl import RslRlVecEnv

    env = CountingEnv()
    adapted = RslRlVecEnv(env, cfg={"name": "counting"})
    assert isinstance(adapted, VecEnv) and env.resets == 1
    assert (adapted.num_envs, adapted.num_actions, adapted.max_episode_length, adapted.cfg) == (8, 2, 5, {"name": "counting"})
    obs = adapted.get_observations()
    assert isinstance(obs, TensorDict) and obs["critic"].shape == (8, 4)
    adapted.episode_length_buf = torch.full((8,), 3, dtype=torch.long)  # the runner spreads episode starts
    assert env.episode_length_buf.tolist() == [3] * 8
    obs, rewards, dones, extras = adapted.step(torch.zeros(8, 2))
    assert obs["policy"][0, 0] == 4 and not dones.any() and "time_outs" in extras


def test_on_policy_runner_trains_through_the_adapter():
    from rsl_rl.runners import OnPolicyRunner

    from fastembody_core.adapters.rsl_rl import RslRlVecEnv

    model = {"class_name": "MLPModel", "hidden_dims": [16], "activation": "elu"}
    cfg = {
        "num_steps_per_env": 6,
        "save_interval": 100,
        "obs_groups": {"actor": ["policy"], "critic": ["critic"]},
        "algorithm": {"class_name": "PPO", "num_mini_batches": 2, "num_learning_epochs": 1},
        "actor": dict(model, distribution_cfg={"class_name": "GaussianDistribution", "init_std": 1.0}),
        "critic": dict(model),
    }
    env = CountingEnv()
    runner = OnPolicyRunner(RslRlVecEnv(env), cfg, log_dir=None, device="cpu")
    before = [p.clone() for p in runner.alg.actor.parameters()]
    runner.learn(2, init_at_random_ep_len=True)
    assert any(not torch.equal(a, b) for a, b in zip(before, runner.alg.actor.parameters()))

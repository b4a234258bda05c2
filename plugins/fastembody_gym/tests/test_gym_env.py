"""gym:<EnvId> envs: same-step autoreset, time-outs vs terminations, action rescaling, named errors."""
import numpy as np
import pytest
import torch

from fastembody_core import ConfigError, EnvError, RunContext, get_registry
from fastembody_gym import GymEnvParams

import gymnasium  # noqa: F401,E402  (installed by scripts/setup.sh: missing, this fails, never skips)


def make(name, **params):
    reg = get_registry().get("envs", name)
    assert reg.name == "gym:*" and reg.params is GymEnvParams
    return reg.factory(GymEnvParams(**params), RunContext(seed=1, config={"env": {"name": name}}))


def test_registry_resolves_the_family_and_builds_pendulum():
    env = make("gym:Pendulum-v1", num_envs=3)
    spec = env.spec()
    assert (spec.num_envs, spec.num_actions, spec.observation_shapes) == (3, 1, {"policy": (3,)})
    assert spec.max_episode_length == 200 and spec.step_dt == pytest.approx(0.05)
    obs = env.reset()
    assert obs["policy"].dtype == torch.float32 and obs["policy"].shape == (3, 3)
    env.close()


def test_time_limit_is_a_time_out_and_the_next_episode_starts_in_the_same_step():
    env = make("gym:Pendulum-v1", num_envs=2, max_episode_steps=4)
    env.reset()
    for t in range(4):
        obs, rewards, dones, extras = env.step(torch.zeros(2, 1))
        assert rewards.shape == (2,) and rewards.dtype == torch.float32
    assert dones.all() and extras["time_outs"].all()
    assert extras["episode"]["length"].tolist() == [4.0, 4.0]
    assert env.episode_length_buf.tolist() == [0, 0]
    # the observations returned with done=True are the first of the next episode: one more step is not done
    obs2, _, dones2, extras2 = env.step(torch.zeros(2, 1))
    assert not dones2.any() and not extras2["time_outs"].any()
    assert env.episode_length_buf.tolist() == [1, 1]
    env.close()


def test_termination_is_done_but_not_a_time_out():
    env = make("gym:MountainCarContinuous-v0", num_envs=1, rescale_actions=False)
    env.reset()
    env.envs.unwrapped  # vector env built
    # push right with full force until the car reaches the goal (terminated, well before the 999-step limit)
    direction = 1.0
    for t in range(999):
        obs, r, dones, extras = env.step(torch.tensor([[direction]]))
        velocity = float(obs["policy"][0, 1])
        direction = 1.0 if velocity >= 0 else -1.0
        if dones.any():
            break
    assert dones.all() and not extras["time_outs"].any(), t
    env.close()


def test_actions_are_rescaled_from_unit_range_to_the_box():
    env = make("gym:Pendulum-v1", num_envs=1)
    assert np.allclose(env._low, -2.0) and np.allclose(env._high, 2.0)
    env.reset()
    seen = []
    env.envs.step = lambda a: (seen.append(np.array(a)), _fake_step(env))[1]
    env.step(torch.tensor([[0.5]]))
    env.step(torch.tensor([[7.0]]))
    assert seen[0].item() == pytest.approx(1.0) and seen[1].item() == pytest.approx(2.0)


def _fake_step(env):
    return np.zeros((1, 3), np.float32), np.zeros(1), np.zeros(1, bool), np.zeros(1, bool), {}


def test_reward_scaling_keeps_episode_returns_unscaled():
    env = make("gym:Pendulum-v1", num_envs=2, max_episode_steps=3, reward_scale=0.1)
    env.reset()
    total = torch.zeros(2)
    for _ in range(3):
        _, rewards, _, extras = env.step(torch.zeros(2, 1))
        total += rewards
    torch.testing.assert_close(extras["episode"]["return"] * 0.1, total, rtol=1e-4, atol=1e-4)


def test_bad_inputs_are_named_errors():
    with pytest.raises(EnvError, match="gym:NoSuchEnv-v0"):
        make("gym:NoSuchEnv-v0")
    with pytest.raises(EnvError, match="needs Box observation and action spaces.*Discrete actions"):
        make("gym:CartPole-v1")
    with pytest.raises(ConfigError, match="vectorization_mode"):
        GymEnvParams(vectorization_mode="threads")
    with pytest.raises(ConfigError, match="num_envs"):
        GymEnvParams(num_envs=0)
    env = make("gym:Pendulum-v1", num_envs=1)
    with pytest.raises(EnvError, match="NaN"):
        env.step(torch.tensor([[float("nan")]]))


def test_plugin_module_does_not_import_torch_or_gymnasium():
    import subprocess
    import sys

    code = "import sys, fastembody_gym.plugin; print('torch' in sys.modules, 'gymnasium' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_async_vectorization_gives_the_same_contract():
    env = make("gym:Pendulum-v1", num_envs=2, max_episode_steps=2, vectorization_mode="async")
    try:
        env.reset()
        env.step(torch.zeros(2, 1))
        obs, rewards, dones, extras = env.step(torch.zeros(2, 1))
        assert dones.all() and extras["time_outs"].all() and obs["policy"].shape == (2, 3)
    finally:
        env.close()


def test_reward_normalisation_scales_by_the_discounted_return_std():
    env = make("gym:Pendulum-v1", num_envs=4, normalize_reward=True, reward_gamma=0.9, clip_reward=10.0)
    env.reset()
    scaled = []
    for _ in range(300):
        _, rewards, _, _ = env.step(torch.zeros(4, 1))
        scaled.append(rewards)
    scaled = torch.cat(scaled)
    # Pendulum's raw rewards are O(-1..-16); divided by the std of a gamma=0.9 return they become O(1)
    assert scaled.abs().max() <= 10.0 and 0.05 < float(scaled.abs().mean()) < 3.0
    env.close()

"""Checks of the Isaac Gym adapter against the legged_gym stand-in, run in a fresh process.

Isaac Gym refuses to load once torch is imported, and pytest's process has torch, so ``test_isaac_adapter.py``
runs this file with ``tests/isaac_standin`` on PYTHONPATH. It prints one JSON line: check name -> "ok" or the
failure. ``python isaac_adapter_probe.py NAME...`` runs only the named checks.
"""
import fastembody_go2.isaac.preload  # noqa: F401  (isaacgym before torch, as the pipeline does)

import json  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402
from typing import Callable, Dict  # noqa: E402

import torch  # noqa: E402

from fastembody_core import ConfigError, EnvError, RunContext  # noqa: E402
from fastembody_go2.isaac.config import Go2IsaacParams, IsaacParams  # noqa: E402
from fastembody_go2.isaac.env import IsaacGymVecEnv, make_legged_gym_env  # noqa: E402

CHECKS: Dict[str, Callable[[], None]] = {}


def check(fn: Callable[[], None]) -> Callable[[], None]:
    CHECKS[fn.__name__] = fn
    return fn


def go2(num_envs: int = 16, seed: int = 3, **overrides: object) -> IsaacGymVecEnv:
    params = Go2IsaacParams(num_envs=num_envs, cfg_overrides=dict(overrides))
    return make_legged_gym_env("go2", params, RunContext(device="cpu", seed=seed))


@check
def spec_and_reset_groups() -> None:
    env = go2()
    raw = env.unwrapped
    assert type(raw.max_episode_length).__module__ == "numpy", type(raw.max_episode_length)
    assert isinstance(env.max_episode_length, int) and env.max_episode_length == 1000, env.max_episode_length
    spec = env.spec()
    assert spec.observation_shapes == {"policy": (48,), "critic": (48,)}, spec.observation_shapes
    assert spec.num_envs == 16 and spec.num_actions == 12 and abs(spec.step_dt - 0.02) < 1e-12, spec
    assert spec.device == "cpu" and spec.privileged_terms == ("base_lin_vel",), spec
    assert spec.observation_terms["policy"][:3] == ("base_lin_vel", "base_ang_vel", "projected_gravity"), spec
    assert raw.reset_buf.dtype == torch.long and bool(raw.reset_buf.all()), "stand-in: reset_buf starts long ones"
    obs = env.reset()
    assert set(obs) == {"policy", "critic"} and obs["policy"].shape == (16, 48), {k: v.shape for k, v in obs.items()}
    assert obs["policy"] is raw.obs_buf and obs["critic"] is obs["policy"], "policy = obs_buf, critic falls back to it"
    again = env.get_observations()
    assert again["policy"] is raw.obs_buf and again["critic"] is raw.obs_buf


@check
def step_maps_the_five_tuple() -> None:
    env = go2(num_envs=64)
    raw = env.unwrapped
    env.reset()
    steps_with_resets = steps_with_episode = 0
    with torch.inference_mode():
        for _ in range(30):
            obs, rewards, dones, extras = env.step(1.2 * torch.randn(64, 12))  # |a| > 2.5 makes the base touch down
            assert obs["policy"] is raw.obs_buf and obs["policy"].shape == (64, 48)
            assert dones.dtype == torch.bool and dones.shape == (64,) and torch.equal(dones, raw.reset_buf.bool())
            assert rewards.dtype == torch.float32 and torch.equal(rewards, raw.rew_buf)
            assert rewards.data_ptr() != raw.rew_buf.data_ptr(), "rew_buf is reused in place: hand out a copy"
            assert extras["time_outs"].dtype == torch.bool and extras["time_outs"].shape == (64,)
            if bool(dones.any()):
                steps_with_resets += 1
                assert "episode" in extras and extras["episode"] is raw.extras["episode"]
                assert "rew_tracking_lin_vel" in extras["episode"], sorted(extras["episode"])
                steps_with_episode += 1
                done_ids = dones.nonzero().flatten()
                # auto-reset: done envs already start their next episode, with zero joint velocity (+ noise)
                assert bool((raw.episode_length_buf[done_ids] == 0).all())
                assert float(obs["policy"][done_ids, 24:36].abs().max()) <= 1.5 * 0.05 + 1e-6
            else:
                assert "episode" not in extras, "episode statistics passed on a step without resets"
    assert steps_with_resets >= 5 and steps_with_episode == steps_with_resets, (steps_with_resets, steps_with_episode)


@check
def stale_extras_are_not_passed_on() -> None:
    # zero actions never terminate; all envs start together, so they all time out on the same step
    env = go2(num_envs=8, **{"env.episode_length_s": 0.1})
    raw = env.unwrapped
    assert env.max_episode_length == 5
    env.reset()
    zeros = torch.zeros(8, 12)
    with torch.inference_mode():
        for _ in range(20):
            _, _, dones, extras = env.step(zeros)
            if bool(dones.any()):
                break
        assert bool(dones.all()) and bool(extras["time_outs"].all()), "every env timed out on this step"
        stale_episode = raw.extras["episode"]
        _, _, dones, extras = env.step(zeros)
    assert not bool(dones.any())
    assert raw.extras["episode"] is stale_episode and bool(raw.extras["time_outs"].all()), "stand-in keeps stale extras"
    assert "episode" not in extras and not bool(extras["time_outs"].any()), "stale time-outs/episode passed on"


@check
def episode_length_buf_is_proxied() -> None:
    env = go2(num_envs=32)
    raw = env.unwrapped
    env.reset()
    assert env.episode_length_buf is raw.episode_length_buf
    spread = torch.randint_like(env.episode_length_buf, high=env.max_episode_length)  # what the trainer does
    written = spread.clone()
    env.episode_length_buf = spread
    assert raw.episode_length_buf.dtype == torch.long and torch.equal(raw.episode_length_buf, spread)
    with torch.inference_mode():
        _, _, dones, _ = env.step(torch.zeros(32, 12))
    expected = torch.where(dones, torch.zeros_like(written), written + 1)
    assert torch.equal(raw.episode_length_buf, expected), "the env kept counting from the written lengths"


@check
def reset_after_inference_mode_steps() -> None:
    env = go2(num_envs=8)
    env.reset()
    with torch.inference_mode():
        for _ in range(3):
            env.step(torch.randn(8, 12))
    obs = env.reset()  # outside inference mode: legged_gym's reset_idx writes into buffers those steps made
    assert obs["policy"].shape == (8, 48) and bool((env.episode_length_buf == 1).all())
    env.close()
    env.close()
    assert raw_destroyed(env)


def raw_destroyed(env: IsaacGymVecEnv) -> bool:
    return bool(env.unwrapped.sim.destroyed)


@check
def privileged_critic_and_other_tasks() -> None:
    ctx = RunContext(device="cpu", seed=0)
    g1 = make_legged_gym_env("g1", IsaacParams(task="g1", num_envs=4), ctx)
    assert g1.spec().observation_shapes == {"policy": (47,), "critic": (50,)}, g1.spec().observation_shapes
    assert g1.spec().observation_terms == {}
    obs = g1.reset()
    assert obs["critic"] is g1.unwrapped.privileged_obs_buf and obs["critic"].shape == (4, 50)
    obs, _, _, _ = g1.step(torch.zeros(4, 12))
    assert obs["critic"] is g1.unwrapped.privileged_obs_buf and obs["policy"] is g1.unwrapped.obs_buf
    h1 = make_legged_gym_env("h1", IsaacParams(task="h1", num_envs=4), ctx)
    assert h1.num_actions == 10 and h1.spec().observation_shapes["critic"] == (44,)
    try:
        make_legged_gym_env("anymal_c", IsaacParams(task="anymal_c", num_envs=4), ctx)
    except EnvError as exc:
        assert "'anymal_c' is not registered" in str(exc) and "g1, go2, h1, h1_2" in str(exc), str(exc)
    else:
        raise AssertionError("an unregistered task built")


@check
def cfg_overrides_reach_the_env() -> None:
    env = go2(num_envs=4, **{"rewards": {"scales": {"torques": -0.001}}, "control.stiffness.joint": 25,
                             "domain_rand.push_robots": False})
    raw = env.unwrapped
    assert abs(raw.reward_scales["torques"] - (-0.001 * 0.02)) < 1e-12, raw.reward_scales["torques"]
    assert raw.cfg.control.stiffness == {"joint": 25.0} and raw.cfg.domain_rand.push_robots is False
    default = go2(num_envs=4).unwrapped
    assert abs(default.reward_scales["torques"] - (-0.0002 * 0.02)) < 1e-12, "the registry's cfg was modified"
    assert default.num_envs == 4 and default.cfg.env.num_envs == 4
    for overrides, expected in (
        ({"rewards.scales.torque": -1.0}, "did you mean 'rewards.scales.torques'?"),
        ({"rewards.scales": 1.0}, "is a cfg section"),
        ({"env.episode_length_s": "long"}, "expected a number"),
    ):
        try:
            go2(num_envs=4, **overrides)
        except ConfigError as exc:
            assert str(exc).startswith("env.params.cfg_overrides.") and expected in str(exc), str(exc)
        else:
            raise AssertionError(f"{overrides} was accepted")


@check
def seed_reaches_set_seed() -> None:
    first = go2(num_envs=8, seed=11).reset()["policy"]
    same = go2(num_envs=8, seed=11).reset()["policy"]
    other = go2(num_envs=8, seed=12).reset()["policy"]
    assert torch.equal(first, same) and not torch.equal(first, other)


def main(names: list) -> None:
    results = {}
    for name in names or list(CHECKS):
        try:
            CHECKS[name]()
            results[name] = "ok"
        except Exception as exc:  # report every check, not only the first failure
            results[name] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
    print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1:])

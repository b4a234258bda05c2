"""go2-toy as a VectorEnv: observations, auto-reset, extras, randomisation, bad input, exact resume."""
import pytest
import torch

from fastembody_core import CheckpointError, EnvError, ResourceError, RunContext

from fastembody_go2 import robot
from fastembody_go2.toy.config import Go2ToyParams
from fastembody_go2.toy.env import Go2ToyEnv


def make(num_envs=16, seed=0, **kwargs):
    return Go2ToyEnv(Go2ToyParams(num_envs=num_envs, compile=False, **kwargs), RunContext(seed=seed))


def random_actions(env, steps, seed=0, scale=0.5):
    gen = torch.Generator().manual_seed(seed)
    return [scale * torch.randn(env.num_envs, 12, generator=gen) for _ in range(steps)]


def test_observation_groups_and_layout():
    env = make()
    obs = env.reset()
    assert {k: tuple(v.shape) for k, v in obs.items()} == {"policy": (16, 48), "deployable": (16, 45),
                                                           "critic": (16, 56)}
    critic = obs["critic"]
    # noise-free critic: projected gravity ~ (0, 0, -1) at reset (upright), commands scaled by (2, 2, 0.25)
    assert torch.allclose(critic[:, 6:9], torch.tensor([0.0, 0.0, -1.0]).expand(16, 3), atol=1e-5)
    assert torch.allclose(critic[:, 9:11], 2.0 * env.commands[:, :2])
    assert torch.equal(obs["deployable"], obs["policy"][:, 3:])
    friction, payload, strength = critic[:, 48], critic[:, 49], critic[:, 50]
    assert ((friction >= 0.5) & (friction <= 1.25)).all() and friction.std() > 0
    assert ((payload >= -1.0) & (payload <= 2.0)).all() and ((strength >= 0.9) & (strength <= 1.1)).all()


def test_deployable_policy_switch_drops_base_linear_velocity():
    env = make(deployable_policy=True)
    obs = env.reset()
    assert obs["policy"].shape == (16, 45) and env.spec().observation_shapes["policy"] == (45,)
    assert env.observation_terms["policy"] == env.observation_terms["deployable"]
    assert obs["critic"].shape == (16, 56)


def test_step_returns_rewards_dones_and_time_outs_apart_from_falls():
    env = make(num_envs=32, episode_length_s=0.5)  # 25 policy steps
    env.reset()
    saw_episode = False
    for actions in random_actions(env, 30, scale=2.0):
        obs, rewards, dones, extras = env.step(actions)
        assert rewards.shape == (32,) and dones.dtype == torch.bool and extras["time_outs"].dtype == torch.bool
        assert torch.isfinite(rewards).all() and (rewards >= 0).all()  # only positive totals
        assert not (extras["time_outs"] & ~dones).any()
        if "episode" in extras:
            saw_episode = True
            ep = extras["episode"]
            assert {"rew_tracking_lin_vel", "rew_feet_air_time", "fall_rate", "lin_vel_tracking_error"} <= set(ep)
            assert 0.0 <= float(ep["fall_rate"]) <= 1.0
    assert saw_episode
    assert (env.episode_length_buf < 25).all()  # every env was auto-reset by its time limit


def test_a_standing_robot_times_out_without_falling():
    env = make(num_envs=8, episode_length_s=0.4, noise_level=0.0,
               randomization={"init_joint_pos_scale": (1.0, 1.0), "init_base_vel": 0.0})
    env.reset()
    zero = torch.zeros(8, 12)
    for _ in range(19):
        _, _, dones, extras = env.step(zero)
        assert not dones.any()
    _, _, dones, extras = env.step(zero)
    assert dones.all() and extras["time_outs"].all() and float(extras["episode"]["fall_rate"]) == 0.0


def test_a_flipped_robot_falls_and_is_reset():
    env = make(num_envs=4)
    env.reset()
    with torch.inference_mode():  # env buffers are inference tensors
        env.state.quat[:, :2] = torch.tensor([0.0, 1.0, 0.0, 0.0]).unsqueeze(1)  # upside down
    _, _, dones, extras = env.step(torch.zeros(4, 12))
    assert dones[:2].all() and not extras["time_outs"][:2].any()
    assert float(extras["episode"]["fall_rate"]) == 1.0
    assert (env.episode_length_buf[:2] == 0).all() and (env.state.quat[1:3, :2] == 0).all()  # upright again


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_actions_raise_and_leave_the_state_untouched(bad):
    env = make(num_envs=4)
    env.reset()
    before = env.state_dict()
    actions = torch.zeros(4, 12)
    actions[2, 5] = bad
    with pytest.raises(EnvError, match="NaN/inf in the actions of 1 env"):
        env.step(actions)
    after = env.state_dict()
    for group in ("body", "buffers"):
        for name, value in before[group].items():
            assert torch.equal(value, after[group][name]), name


def test_non_finite_actions_can_be_replaced_by_zero():
    env = make(num_envs=4, check_actions=False)
    env.reset()
    actions = torch.full((4, 12), float("nan"))
    obs, rewards, _, _ = env.step(actions)
    assert torch.isfinite(obs["policy"]).all() and torch.isfinite(rewards).all()
    assert (env.actions == 0).all()


def test_wrong_action_shape_is_an_env_error():
    env = make(num_envs=4)
    with pytest.raises(EnvError, match="actions must have shape"):
        env.step(torch.zeros(4, 11))


def test_same_seed_same_rollout_and_different_seed_differs():
    runs = []
    for seed in (1, 1, 2):
        env = make(seed=seed)
        env.reset()
        for actions in random_actions(env, 10):
            obs, rewards, _, _ = env.step(actions)
        runs.append(obs["critic"])
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])


def test_state_dict_resumes_bit_exactly():
    env = make(num_envs=24, seed=5, episode_length_s=0.3)
    env.reset()
    actions = random_actions(env, 40, scale=1.0)
    for a in actions[:15]:
        env.step(a)
    saved = env.state_dict()
    reference = [env.step(a) for a in actions[15:]]

    resumed = make(num_envs=24, seed=99, episode_length_s=0.3)  # other seed: everything comes from the state
    resumed.load_state_dict(saved)
    assert torch.equal(resumed.get_observations()["critic"], saved["buffers"]["critic_obs"])
    for a, (obs, rew, done, extras) in zip(actions[15:], reference):
        obs2, rew2, done2, extras2 = resumed.step(a)
        assert torch.equal(obs["policy"], obs2["policy"]) and torch.equal(rew, rew2) and torch.equal(done, done2)


def test_load_state_dict_rejects_a_different_num_envs():
    with pytest.raises(CheckpointError, match="num_envs=8"):
        make(num_envs=4).load_state_dict(make(num_envs=8).state_dict())


def test_episode_length_buf_is_settable_and_commands_resample_on_schedule():
    env = make(num_envs=8, noise_level=0.0)
    env.reset()
    env.episode_length_buf = torch.full((8,), env.resample_steps - 1, dtype=torch.long)
    before = env.commands.clone()
    env.step(torch.zeros(8, 12))
    assert not torch.equal(before[:, :2], env.commands[:, :2])


def test_pushes_change_the_base_velocity():
    env = make(num_envs=8, noise_level=0.0)
    env.reset()
    env.episode_length_buf = torch.full((8,), env.push_steps - 1, dtype=torch.long)
    env.step(torch.zeros(8, 12))
    assert env.state.lin_vel[:, :2].abs().max() > 0.05


def test_payload_and_motor_strength_change_the_dynamics():
    heights = []
    for payload, strength in (((0.0, 0.0), (1.0, 1.0)), ((3.0, 3.0), (1.0, 1.0)), ((0.0, 0.0), (0.8, 0.8))):
        env = make(num_envs=2, noise_level=0.0,
                   randomization={"payload_mass_range": payload, "motor_strength_range": strength,
                                  "init_joint_pos_scale": (1.0, 1.0), "init_base_vel": 0.0, "push_robots": False})
        env.reset()
        for _ in range(100):
            env.step(torch.zeros(2, 12))
        heights.append(float(env.critic_obs[:, 51].mean()))
    assert heights[1] < heights[0] - 0.005 and heights[2] < heights[0] - 0.005  # sags more


def test_set_command_holds_through_resamples_and_resets_and_base_lin_vel_is_body_frame():
    env = make(num_envs=8, episode_length_s=0.5)  # episodes of 25 steps: resets happen
    env.set_command((0.7, -0.2, 0.3))
    obs = None
    for actions in random_actions(env, 60):
        obs, _, _, _ = env.step(actions)
    assert torch.allclose(env.commands, torch.tensor([0.7, -0.2, 0.3]).expand(8, 3))
    assert torch.allclose(obs["critic"][:, 9:11], 2.0 * env.commands[:, :2])
    velocity = env.base_lin_vel
    assert velocity.shape == (8, 3)
    assert torch.equal(velocity, env.critic_obs[:, 0:3] / 2.0)  # the critic's noise-free term, unscaled
    assert (velocity.norm(dim=1) - env.state.lin_vel.t().norm(dim=1)).abs().max() < 0.1  # base vs CoM velocity
    env.set_command(None)
    assert not torch.allclose(env.commands, torch.tensor([0.7, -0.2, 0.3]).expand(8, 3))
    with pytest.raises(EnvError, match="three finite numbers"):
        env.set_command((1.0, float("nan"), 0.0))


@pytest.mark.parametrize("terrain", ["flat", "rough"])
def test_too_many_envs_is_refused_before_allocating(terrain):
    with pytest.raises(ResourceError, match=r"go2-toy with 20000000 envs needs about \d+\.\d GB of memory.*lower "
                                            r"env.params.num_envs"):
        Go2ToyEnv(Go2ToyParams(num_envs=20_000_000, compile=False, terrain={"type": terrain}), RunContext())


@pytest.mark.parametrize("terrain", ["flat", "rough"])
def test_go2_toy_keeps_the_vector_env_contract(terrain):
    from fastembody_core.testing import check_vector_env

    rough = {"type": "rough", "num_rows": 2, "num_cols": 2, "tile_length": 4.0, "tile_width": 4.0,
             "platform_size": 1.0, "border_size": 2.0}
    params = Go2ToyParams(num_envs=8, compile=False, episode_length_s=1.0,
                          terrain=rough if terrain == "rough" else {"type": "flat"}, height_scan_in_policy=True)
    check_vector_env(Go2ToyEnv(params))


def test_go2_toy_declares_the_capabilities_play_and_export_use():
    from fastembody_core.contracts import DEPLOYMENT_ATTRIBUTES, CommandableEnv, RenderableEnv, VelocityTrackingEnv

    env = make(num_envs=2)
    assert isinstance(env, CommandableEnv) and isinstance(env, RenderableEnv) and isinstance(env, VelocityTrackingEnv)
    assert all(getattr(env, name, None) is not None for name in ("joint_names", "default_joint_pos", "action_scale"))
    assert set(DEPLOYMENT_ATTRIBUTES) >= {"joint_names", "default_joint_pos", "action_scale", "step_dt"}

"""go2-mujoco's VectorEnv contract: go2-toy's observation groups, order and scales, rewards, resets, errors."""
import math
import sys

import mujoco  # the mujoco extra is installed by scripts/setup.sh: a missing one fails here, it never skips
import numpy as np
import pytest
import torch

from fastembody_core import EnvError, RunContext
from fastembody_go2 import robot
from fastembody_go2.mujoco.config import Go2MujocoParams
from fastembody_go2.mujoco.env import Go2MujocoEnv
from fastembody_go2.rewards import REWARD_FUNCTIONS
from fastembody_go2.task import CRITIC_TERMS, DEPLOYABLE_TERMS, POLICY_TERMS, PRIVILEGED_TERMS
from fastembody_go2.toy.config import Go2ToyParams


def make(num_envs=4, seed=0, **params):
    params.setdefault("compile", False)  # compiling takes seconds; test_compiled_maths_match_eager covers it
    return Go2MujocoEnv(Go2MujocoParams(num_envs=num_envs, **params), RunContext(seed=seed))


@pytest.fixture(scope="module")
def env():
    e = make(noise_level=0.0)
    yield e
    e.close()


def test_spec_matches_go2_toy(env):
    spec = env.spec()
    assert spec.num_actions == 12 and spec.step_dt == pytest.approx(0.02) and spec.max_episode_length == 1000
    assert spec.observation_shapes == {"policy": (48,), "deployable": (45,), "critic": (56,)}
    assert spec.observation_terms == {"policy": POLICY_TERMS, "deployable": DEPLOYABLE_TERMS, "critic": CRITIC_TERMS}
    assert spec.privileged_terms == PRIVILEGED_TERMS
    assert tuple(env.joint_names) == robot.JOINT_NAMES and env.action_scale == 0.25
    toy = Go2ToyParams()
    assert env.reward_terms == tuple(k for k, v in toy.rewards.scales.items() if v != 0.0)  # same defaults


def test_step_contract_and_observation_scales(env):
    obs = env.reset()
    actions = 0.3 * torch.randn(4, 12, generator=torch.Generator().manual_seed(1))
    obs, rewards, dones, extras = env.step(actions)
    assert rewards.shape == (4,) and rewards.dtype == torch.float32 and dones.dtype == torch.bool
    assert extras["time_outs"].dtype == torch.bool and not extras["time_outs"].any()
    assert (rewards >= 0).all()  # only_positive_rewards
    # the policy group is legged_gym's 48 numbers, recomputed here from MuJoCo's state (noise is off)
    s = torch.from_numpy(env.state).float()
    qw, qx, qy, qz = s[:, 4:8].unbind(-1)
    quat = torch.stack((qw, qx, qy, qz), -1)
    rot = torch.zeros(4, 3, 3)
    for i in range(4):
        m = np.zeros(9)
        mujoco.mju_quat2Mat(m, quat[i].double().numpy())
        rot[i] = torch.from_numpy(m.reshape(3, 3)).float()
    lin_vel = torch.einsum("nji,nj->ni", rot, s[:, 20:23])
    joint_pos, joint_vel = s[:, 8:20], s[:, 26:38]  # qpos / qvel order is legged_gym's FL, FR, RL, RR
    expected = torch.cat([
        lin_vel * 2.0, s[:, 23:26] * 0.25, -rot[:, 2, :], env.commands * torch.tensor([2.0, 2.0, 0.25]),
        joint_pos - torch.tensor(robot.DEFAULT_JOINT_POS), joint_vel * 0.05, actions,
    ], dim=-1)
    torch.testing.assert_close(obs["policy"], expected, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(obs["deployable"], obs["policy"][:, 3:])
    torch.testing.assert_close(obs["critic"][:, :48], obs["policy"])
    torch.testing.assert_close(obs["critic"][:, 48:51], torch.stack([env.friction, env.payload, env.motor_strength], -1))
    assert not obs["policy"].is_inference()  # callers outside inference mode get normal tensors


def test_actions_reach_the_joint_they_name():
    """Actions are in legged_gym order although MuJoCo's actuators are in the SDK order."""
    e = make(num_envs=2, noise_level=0.0, randomization={"push_robots": False, "init_joint_pos_scale": (1.0, 1.0),
                                                           "init_base_vel": 0.0})
    e.reset()
    actions = torch.zeros(2, 12)
    actions[1, 5] = 2.0  # FR calf: +0.5 rad target
    for _ in range(5):
        obs, _, _, _ = e.step(actions)
    delta = (obs["policy"][1, 12:24] - obs["policy"][0, 12:24]).abs()
    assert int(delta.argmax()) == 5 and float(delta[5]) > 0.2
    torques = e.sensors[:, e.index.torques]
    assert abs(torques[1, 5] - torques[0, 5]) > 1.0
    e.close()


def test_nan_actions_raise_and_leave_the_state_alone(env):
    env.reset()
    before = env.state.copy()
    bad = torch.zeros(4, 12)
    bad[2, 3] = float("nan")
    with pytest.raises(EnvError, match="NaN/inf in the actions of 1 env"):
        env.step(bad)
    np.testing.assert_array_equal(env.state, before)
    with pytest.raises(EnvError, match="shape"):
        env.step(torch.zeros(3, 12))


def test_time_outs_and_falls_end_episodes():
    e = make(num_envs=3, episode_length_s=0.1, noise_level=0.0)
    e.reset()
    e.episode_length_buf = torch.tensor([0, 2, 4])  # settable, as the trainer spreads episode starts
    e.state[0, 4:8] = (math.cos(0.6), math.sin(0.6), 0.0, 0.0)  # env 0 rolled by 1.2 rad: a fall
    _, _, dones, extras = e.step(torch.zeros(3, 12))
    assert dones.tolist() == [True, False, True]
    assert extras["time_outs"].tolist() == [False, False, True]
    stats = extras["episode"]
    assert float(stats["fall_rate"]) == pytest.approx(0.5)
    assert {"rew_tracking_lin_vel", "lin_vel_tracking_error"} <= set(stats)
    assert e.episode_length_buf.tolist() == [0, 3, 0]
    assert np.abs(e.state[0, 5:7]).max() < 1e-6 and e.state[0, 3] > 0.2  # env 0 was reset upright, above ground
    e.close()


def test_drivers_agree_and_state_dict_resumes_exactly():
    a, b = make(seed=3, driver="auto"), make(seed=3, driver="threads", nthread=2)  # auto: rollout on MuJoCo >= 3.3
    gen = torch.Generator().manual_seed(0)
    for _ in range(10):
        actions = torch.randn(4, 12, generator=gen)
        oa, ra, _, _ = a.step(actions)
        ob, rb, _, _ = b.step(actions)
    torch.testing.assert_close(oa["critic"], ob["critic"], rtol=0, atol=0)
    torch.testing.assert_close(ra, rb, rtol=0, atol=0)
    saved = a.state_dict()
    c = make(seed=99)
    c.load_state_dict(saved)
    for _ in range(5):
        actions = torch.randn(4, 12, generator=gen)
        oa, ra, da, _ = a.step(actions)
        oc, rc, dc, _ = c.step(actions)
    torch.testing.assert_close(oa["policy"], oc["policy"], rtol=0, atol=0)
    torch.testing.assert_close(ra, rc, rtol=0, atol=0)
    for e in (a, b, c):
        e.close()


@pytest.mark.parametrize("nthread", [3, 8])  # uneven slices; more threads than envs
def test_rollout_slices_step_every_env_like_one_thread(nthread):
    from fastembody_go2.mujoco.driver import RolloutDriver, ThreadPoolDriver

    e = make(num_envs=5, seed=2)
    state, ctrl = e.state.copy(), np.tile(e._q0_ctrl, (5, 1)) + np.linspace(-0.2, 0.2, 5)[:, None]
    outputs = []
    for driver in (RolloutDriver(e.models, nthread), ThreadPoolDriver(e.models, 1)):
        out_state, out_sensors = np.zeros_like(e.state), np.zeros_like(e.sensors)
        driver.step(state, ctrl, robot.DECIMATION, out_state, out_sensors)
        driver.close()
        outputs.append((out_state, out_sensors))
    assert not np.array_equal(outputs[0][0], state)  # it stepped
    np.testing.assert_array_equal(outputs[0][0], outputs[1][0])
    np.testing.assert_array_equal(outputs[0][1], outputs[1][1])
    e.close()


def test_compiled_maths_match_eager():
    eager, compiled = make(seed=5), make(seed=5, compile=True)
    gen = torch.Generator().manual_seed(0)
    with torch.inference_mode():
        for _ in range(3):
            actions = torch.randn(4, 12, generator=gen)
            oe, re, _, _ = eager.step(actions)
            oc, rc, _, _ = compiled.step(actions)
    assert compiled._post_physics.compiled is not None and compiled._measure_state.compiled is not None  # no fallback
    torch.testing.assert_close(oc["critic"], oe["critic"], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(rc, re, atol=1e-6, rtol=1e-5)
    eager.close()
    compiled.close()


def test_randomisation_reaches_each_env_model():
    ranges = {"friction_range": (0.5, 1.25), "payload_mass_range": (-1.0, 2.0), "motor_strength_range": (0.9, 1.1)}
    own = make(num_envs=3, dynamics_buckets=0, randomization=ranges)  # go2-toy's way: a fresh draw per env
    shared = make(num_envs=6, dynamics_buckets=2, randomization=ranges)  # a random one of 2 MjModels per env
    base = own.layout.base_body
    for e in (own, shared):
        for i in range(e.num_envs):
            model = e.models[i]
            assert model.geom_friction[e.layout.foot_geoms[0], 0] == pytest.approx(float(e.friction[i]))
            assert model.body_mass[base] == pytest.approx(robot.BASE_MASS + float(e.payload[i]), rel=1e-6)
            assert model.actuator_gainprm[0, 0] == pytest.approx(20.0 * float(e.motor_strength[i]), rel=1e-6)
            assert model is e.driver.models[i]  # the driver steps the env's current model
    assert len(set(own.friction.tolist())) == 3 and len({id(m) for m in own.models}) == 3
    assert len({id(m) for m in shared.models}) <= 2 and set(shared.friction.tolist()) <= set(
        shared.bucket_dynamics[:, 0].tolist())
    own.close()
    shared.close()


def test_set_command_fixes_the_command(env):
    env.set_command((0.5, 0.0, 0.2))
    for _ in range(3):
        obs, _, _, _ = env.step(torch.zeros(4, 12))
    torch.testing.assert_close(obs["policy"][:, 9:12], torch.tensor([1.0, 0.0, 0.05]).expand(4, 3))
    with pytest.raises(EnvError, match="three finite numbers"):
        env.set_command((0.5, 0.0))
    env.set_command(None)
    assert env.fixed_command is None


def test_missing_mujoco_names_the_extra(monkeypatch):
    from fastembody_core.pipeline import build_env, make_context
    from fastembody_core.config import experiment_from_dict

    experiment = experiment_from_dict({"name": "x", "env": {"name": "go2-mujoco"}, "algorithm": {"name": "ppo"}})
    monkeypatch.setitem(sys.modules, "mujoco", None)  # `import mujoco` now raises ImportError
    with pytest.raises(EnvError, match=r'pip install "fastembody-go2\[mujoco\]"'):
        build_env(experiment, make_context(experiment))


def test_registered_lazily_without_torch_or_mujoco():
    import subprocess

    from fastembody_core import get_registry

    assert get_registry().get("envs", "go2-mujoco").params is Go2MujocoParams
    code = ("import sys; from fastembody_core import get_registry; get_registry().get('envs', 'go2-mujoco'); "
            "print('torch' in sys.modules, 'mujoco' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["False", "False"], out.stderr

"""The Go2 envs' left/right mirror maps (fastembody_go2.symmetry): a physically mirrored robot observes the mirrored
observations, in go2-toy (on a mirror-symmetric rough terrain, height scan included) and go2-mujoco; the maps are
involutions and a symmetric policy acts mirrored."""
import dataclasses

import pytest
import torch

from fastembody_core import MirrorableEnv, RunContext, check_mirror_maps
from fastembody_go2 import robot
from fastembody_go2.symmetry import joint_map, mirror_maps, mirrored_leg, scan_map, term_map
from fastembody_go2.task import OBSERVATION_TERM_DIMS, observation_groups
from fastembody_go2.terrain import TerrainParams, scan_points
from fastembody_go2.terrain.generator import generate_terrain
from fastembody_go2.toy.config import Go2ToyParams
from fastembody_go2.toy.env import Go2ToyEnv

SMALL_ROUGH = {"type": "rough", "num_rows": 3, "num_cols": 2, "border_size": 1.0, "max_init_level": 2,
               "proportions": {"rough_slope": 1.0, "discrete_obstacles": 1.0}}
STILL = {"push_robots": False}


def mirrored(x: torch.Tensor, m) -> torch.Tensor:
    perm, sign = m
    return x[..., list(perm)] * torch.tensor(sign, dtype=x.dtype)


def test_every_term_mirrors_and_the_maps_are_involutions():
    for term in OBSERVATION_TERM_DIMS:
        assert term_map(term, TerrainParams().scan_y, 187) is not None, term
    terms = observation_groups(terrain_type="rough", height_scan_in_policy=True)
    maps = mirror_maps(terms, TerrainParams().scan_y, 187)
    assert set(maps) == {"policy", "deployable", "critic", "actions"}
    x = torch.randn(5, 48 + 187)
    torch.testing.assert_close(mirrored(mirrored(x, maps["policy"]), maps["policy"]), x)
    # the 48-dim layout: lin vel y, ang vel x and z, gravity y, command vy and yaw rate flip; legs swap, hips flip
    perm, sign = maps["policy"]
    assert [i for i in range(12) if sign[i] < 0] == [1, 3, 5, 7, 10, 11]
    assert perm[12:15] == (15, 16, 17) and sign[12:15] == (-1.0, 1.0, 1.0)  # joint_pos: FL <- FR, hip negated
    assert [robot.LEG_NAMES[mirrored_leg(i)] for i in range(4)] == ["FR", "FL", "RR", "RL"]
    assert joint_map()[1] == (-1.0, 1.0, 1.0) * 4


def test_height_scan_map_reads_each_point_at_its_mirror_image():
    params = TerrainParams()
    points = scan_points(params)
    perm, sign = scan_map(params.scan_y, params.num_scan_points)
    torch.testing.assert_close(points[list(perm)], points * torch.tensor([1.0, -1.0]))
    assert set(sign) == {1.0}
    lopsided = mirror_maps(observation_groups(terrain_type="rough"), [-0.5, 0.0, 0.3], 17 * 3)
    assert "critic" not in lopsided and "policy" in lopsided  # an asymmetric scan grid cannot mirror


def symmetric_terrain(seed: int = 0):
    """A generated rough terrain made mirror-symmetric about the line y = yc; returns (terrain, yc)."""
    terrain = generate_terrain(TerrainParams(**SMALL_ROUGH), seed)
    heights = torch.maximum(terrain.heights, terrain.heights.flip(1))
    yc = terrain.corner + terrain.heights.shape[1] * terrain.horizontal_scale / 2
    return dataclasses.replace(terrain, heights=heights), yc


def mirror_toy_robot(env: Go2ToyEnv, src: int, dst: int, yc: float) -> None:
    """Make robot ``dst`` the mirror image of robot ``src`` about the world line y = yc (state, command, history)."""
    s, legs = env.state, [mirrored_leg(i) for i in range(4)]
    joints = torch.tensor([-1.0, 1.0, 1.0])[:, None]
    with torch.inference_mode():
        s.pos[:, dst] = s.pos[:, src] * torch.tensor([1.0, -1.0, 1.0]) + torch.tensor([0.0, 2 * yc, 0.0])
        s.quat[:, dst] = s.quat[:, src] * torch.tensor([1.0, -1.0, 1.0, -1.0])
        s.lin_vel[:, dst] = s.lin_vel[:, src] * torch.tensor([1.0, -1.0, 1.0])
        s.ang_vel[:, dst] = s.ang_vel[:, src] * torch.tensor([-1.0, 1.0, -1.0])
        s.joint_pos[:, :, dst] = s.joint_pos[:, legs, src] * joints
        s.joint_vel[:, :, dst] = s.joint_vel[:, legs, src] * joints
        s.foot_anchor[:, :, dst] = s.foot_anchor[:, legs, src] * torch.tensor([1.0, -1.0])[:, None] + \
            torch.tensor([0.0, 2 * yc])[:, None]
        for field in env.dynamics:
            field[dst] = field[src]
        env.commands[dst] = env.commands[src] * torch.tensor([1.0, -1.0, -1.0])
        env.heading[dst] = -env.heading[src]
        env.actions[dst] = mirrored(env.actions[src], joint_map())
        env.feet_air_time[dst] = env.feet_air_time[src][legs]
        env.last_contacts[dst] = env.last_contacts[src][legs]
        env.episode_length_buf[dst] = env.episode_length_buf[src]
        env._refresh_scan_ground()
        env._compute_observations(env.last_contacts)


def assert_mirrored(env, obs, src: int, dst: int, atol: float) -> None:
    maps = check_mirror_maps(env.spec())
    for group, x in obs.items():
        torch.testing.assert_close(x[dst], mirrored(x[src], maps[group]), atol=atol, rtol=0, msg=group)


def test_go2_toy_mirrored_robot_observes_the_mirrored_observations():
    terrain, yc = symmetric_terrain()
    env = Go2ToyEnv(Go2ToyParams(num_envs=3, compile=False, noise_level=0.0, height_scan_in_policy=True,
                                 terrain=SMALL_ROUGH, randomization=STILL), RunContext(seed=0), terrain=terrain)
    assert isinstance(env, MirrorableEnv) and env.observation_shapes["policy"] == (48 + 187,)
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):  # a state in motion, not a fresh reset
        env.step(0.5 * torch.randn(3, 12, generator=gen))
    mirror_toy_robot(env, 0, 1, yc)
    obs = env.get_observations()
    assert obs["critic"][0, -187:].std() > 0.01  # the scan sees uneven ground
    assert_mirrored(env, obs, 0, 1, atol=1e-5)
    for _ in range(4):  # and the physics keeps it mirrored under mirrored actions
        actions = 0.5 * torch.randn(3, 12, generator=gen)
        actions[1] = mirrored(actions[0], joint_map())
        obs, *_ = env.step(actions)
    assert_mirrored(env, obs, 0, 1, atol=1e-3)
    assert not torch.allclose(obs["policy"][2], mirrored(obs["policy"][0], env.mirror_maps()["policy"]), atol=0.1)


def test_go2_mujoco_mirrored_robot_observes_the_mirrored_observations():
    from fastembody_go2.mujoco.config import Go2MujocoParams
    from fastembody_go2.mujoco.env import Go2MujocoEnv

    env = Go2MujocoEnv(Go2MujocoParams(num_envs=2, compile=False, noise_level=0.0, randomization=STILL),
                       RunContext(seed=0))
    assert isinstance(env, MirrorableEnv)
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        env.step(0.5 * torch.randn(2, 12, generator=gen))
    ix, legs = env.index, [mirrored_leg(i) for i in range(4)]
    jperm, jsign = joint_map()
    with torch.inference_mode():
        s = env.state
        s[1] = s[0]
        s[1, ix.base_pos[1]] *= -1
        s[1, ix.base_quat[[1, 3]]] *= -1
        s[1, ix.base_lin_vel[1]] *= -1  # world frame
        s[1, ix.base_ang_vel[[0, 2]]] *= -1  # body frame
        s[1, ix.joint_pos] = s[0, ix.joint_pos[list(jperm)]] * jsign
        s[1, ix.joint_vel] = s[0, ix.joint_vel[list(jperm)]] * jsign
        env.bucket_dynamics[1] = env.bucket_dynamics[0]
        env._apply_bucket_dynamics([1])
        for buffer in (env.friction, env.payload, env.motor_strength, env.episode_length_buf):
            buffer[1] = buffer[0]
        env.commands[1] = env.commands[0] * torch.tensor([1.0, -1.0, -1.0])
        env.heading[1] = -env.heading[0]
        for buffer in (env.actions, env.last_joint_vel):
            buffer[1] = mirrored(buffer[0], (jperm, jsign))
        env.feet_air_time[1], env.last_contacts[1] = env.feet_air_time[0][legs], env.last_contacts[0][legs]
        env._observe(env._measure())
    assert_mirrored(env, env.get_observations(), 0, 1, atol=1e-6)
    # one step of mirrored actions: MuJoCo's step is close to, not exactly, mirror-symmetric (<= 0.02 seen here;
    # a wrong leg or sign in the map shows as 0.1 and more)
    actions = 0.5 * torch.randn(2, 12, generator=gen)
    actions[1] = mirrored(actions[0], (jperm, jsign))
    obs, *_ = env.step(actions)
    assert_mirrored(env, obs, 0, 1, atol=0.05)
    env.close()


def test_a_symmetric_policy_acts_mirrored_on_a_mirrored_observation():
    """f(x) + M f(M x) is equivariant for any f: the mirrored observation gets the mirrored action."""
    maps = mirror_maps(observation_groups())
    net = torch.nn.Sequential(torch.nn.Linear(48, 32), torch.nn.ELU(), torch.nn.Linear(32, 12))

    def policy(x):
        return net(x) + mirrored(net(mirrored(x, maps["policy"])), maps["actions"])

    x = torch.randn(16, 48)
    with torch.no_grad():
        torch.testing.assert_close(policy(mirrored(x, maps["policy"])), mirrored(policy(x), maps["actions"]))
        assert not torch.allclose(net(mirrored(x, maps["policy"])), mirrored(net(x), maps["actions"]), atol=1e-3)


def test_ppo_augments_on_go2_toy():
    from fastembody_ppo import PPOParams
    from fastembody_ppo.ppo import PPO

    env = Go2ToyEnv(Go2ToyParams(num_envs=8, compile=False), RunContext(seed=0))
    algo = PPO(env.spec(), PPOParams(actor_hidden_dims=[16], critic_hidden_dims=[16], num_mini_batches=2,
                                     symmetry="augment", precision="fp32"), RunContext())
    algo.setup(4)
    obs = env.get_observations()
    with torch.inference_mode():
        for _ in range(4):
            obs, r, d, x = env.step(algo.act(obs))
            algo.process_env_step(obs, r, d, x)
    losses = algo.update(obs)
    assert all(torch.isfinite(torch.tensor(v)) for v in losses.values()) and "symmetry" in losses


@pytest.mark.parametrize("deployable_policy", [False, True])
def test_every_configured_group_of_go2_toy_has_a_map(deployable_policy):
    env = Go2ToyEnv(Go2ToyParams(num_envs=2, compile=False, deployable_policy=deployable_policy), RunContext())
    maps = check_mirror_maps(env.spec())
    assert set(maps) == {"policy", "deployable", "critic", "actions"}
    assert len(maps["policy"][0]) == (45 if deployable_policy else 48)

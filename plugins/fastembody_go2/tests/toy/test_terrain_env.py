"""go2-toy on terrain: groups and shapes, height scan, local heights, stairs, curriculum, exact resume, bad input."""
import dataclasses
import math

import pytest
import torch

from fastembody_core import CheckpointError, ConfigError, RunContext
from fastembody_core.config import build_dataclass

from fastembody_go2 import robot
from fastembody_go2.kinematics import leg_geometry, leg_kinematics, quat_to_rotmat, roll_pitch_yaw, yaw_quat
from fastembody_go2.task import PRIVILEGED_TERMS
from fastembody_go2.terrain import build_course, scan_points, TerrainParams
from fastembody_go2.toy.config import Go2ToyParams
from fastembody_go2.toy.env import Go2ToyEnv
from fastembody_go2.toy.dynamics import aos_fields
from fastembody_go2.toy.task_step import measure
from fastembody_go2.terrain.spawn import SpawnSpec

STILL = {"init_joint_pos_scale": (1.0, 1.0), "init_base_vel": 0.0, "push_robots": False}
SMALL_ROUGH = {"type": "rough", "num_rows": 5, "num_cols": 2, "border_size": 1.0, "max_init_level": 2,
               "proportions": {"rough_slope": 1.0, "discrete_obstacles": 1.0}}  # random parts: the seed matters


def make(num_envs=4, seed=0, ground=None, spawn=None, **kwargs):
    """A go2-toy env (eager); ``ground`` a Terrain to run on, ``terrain`` (in kwargs) the params block."""
    return Go2ToyEnv(Go2ToyParams(num_envs=num_envs, compile=False, **kwargs), RunContext(seed=seed),
                     terrain=ground, spawn=spawn)


def stairs_10cm(x):
    """Ground of the stairs_up_10cm course: risers at 1.5 + 0.3 k m, 0.1 m each, top from x = 7.5 m."""
    return 0.1 * (torch.floor((x.clamp(max=7.45) - 1.5) / 0.3) + 1).clamp(min=0)


def set_pose(env, base_xyz, yaw):
    """Put every robot's base origin at ``base_xyz`` with heading ``yaw`` and recompute the observations."""
    with torch.inference_mode():
        quat = yaw_quat(torch.full((env.num_envs,), float(yaw)))
        com = torch.tensor(base_xyz) + quat_to_rotmat(quat) @ torch.tensor(robot.COM_OFFSET)
        env.state.pos[:] = com.t()
        env.state.quat[:] = quat.t()
    env.set_command((0.0, 0.0, 0.0))  # recomputes the scan and the observations at the new pose


@pytest.mark.parametrize("kwargs, shapes", [
    ({}, {"policy": 48, "deployable": 45, "critic": 56}),
    ({"terrain": SMALL_ROUGH}, {"policy": 48, "deployable": 45, "critic": 56 + 187}),
    ({"terrain": SMALL_ROUGH, "height_scan_in_policy": True}, {"policy": 48 + 187, "deployable": 45, "critic": 243}),
    ({"terrain": SMALL_ROUGH, "height_scan_in_policy": True, "deployable_policy": True},
     {"policy": 45 + 187, "deployable": 45, "critic": 243}),
    ({"terrain": dict(SMALL_ROUGH, scan_x=[0.0, 0.5], scan_y=[0.0])}, {"policy": 48, "deployable": 45, "critic": 58}),
])
def test_observation_groups_and_shapes(kwargs, shapes):
    env = make(**kwargs)
    obs = env.reset()
    assert {k: v.shape[1] for k, v in obs.items()} == shapes
    assert {k: v[0] for k, v in env.observation_shapes.items()} == shapes
    assert "height_scan" not in env.observation_terms["deployable"] and "height_scan" in PRIVILEGED_TERMS
    assert ("height_scan" in env.observation_terms["critic"]) == (shapes["critic"] != 56)
    assert torch.equal(obs["deployable"], env.policy_obs[:, 3:48])
    assert env.spec().privileged_terms == PRIVILEGED_TERMS


@pytest.mark.parametrize("yaw", [0.0, math.pi / 2])
def test_height_scan_equals_the_analytic_stairs(yaw):
    env = make(num_envs=2, ground=build_course("stairs_up_10cm"), noise_level=0.0, height_scan_in_policy=True)
    set_pose(env, [3.05, 2.05, 0.9], yaw)
    points = scan_points(TerrainParams())
    c, s = round(math.cos(yaw)), round(math.sin(yaw))
    world_x = 3.05 + c * points[:, 0] - s * points[:, 1]
    expected = 5.0 * (0.9 - 0.5 - stairs_10cm(world_x)).clamp(-1.0, 1.0)
    obs = env.get_observations()
    assert torch.allclose(obs["critic"][:, 56:], expected.expand(2, 187), atol=2e-5)
    assert torch.allclose(obs["policy"][:, 48:], obs["critic"][:, 56:])  # noise level 0
    assert float(expected.max() - expected.min()) > 1.0  # the scan does see the stairs
    # base height: from the mean ground under the scan points (legged_gym's measured_heights)
    assert float(obs["critic"][0, 51]) == pytest.approx(0.9 - float(stairs_10cm(world_x).mean()), abs=1e-5)


def test_height_scan_noise_and_flat_ground_scan():
    env = make(num_envs=64, height_scan_in_policy=True)  # flat ground: allowed, reads the flat ground
    obs = env.reset()
    base_z = obs["critic"][:, 51:52]
    assert torch.allclose(obs["critic"][:, 56:], 5.0 * (base_z - 0.5).clamp(-1, 1).expand(64, 187), atol=1e-5)
    noise = obs["policy"][:, 48:] - obs["critic"][:, 56:]
    assert float(noise.abs().max()) <= 0.5 + 1e-5 and float(noise.std()) > 0.2  # U(-0.1 m, 0.1 m) x 5


def test_height_scan_dropout_hides_the_policy_scan_per_episode_and_resumes():
    kwargs = dict(num_envs=64, seed=3, terrain=SMALL_ROUGH, height_scan_in_policy=True, noise_level=0.0,
                  height_scan_dropout=0.5, episode_length_s=0.2)
    env = make(**kwargs)
    obs = env.reset()
    hidden = env.scan_hidden.clone()
    assert 10 < int(hidden.sum()) < 54  # about half the episodes
    policy_scan, critic_scan = obs["policy"][:, 48:], obs["critic"][:, 56:]
    assert torch.equal(policy_scan[~hidden], critic_scan[~hidden])  # seen: the terrain, as the critic sees it
    mean = critic_scan[hidden].mean(-1, keepdim=True).expand(-1, 187)
    assert torch.allclose(policy_scan[hidden], mean, atol=1e-5)  # hidden: flat ground at the scan's mean
    assert float(critic_scan[hidden].std(-1).max()) > 0.05  # while the critic sees uneven ground there
    gen = torch.Generator().manual_seed(0)
    actions = [torch.randn(64, 12, generator=gen) for _ in range(25)]
    for a in actions[:12]:  # 10-step episodes: every env has been reset and redrawn once
        env.step(a)
    assert not torch.equal(env.scan_hidden, hidden)
    saved = env.state_dict()
    reference = [env.step(a)[0]["policy"] for a in actions[12:]]
    resumed = make(**kwargs)
    resumed.load_state_dict(saved)
    assert all(torch.equal(ref, resumed.step(a)[0]["policy"]) for a, ref in zip(actions[12:], reference))
    with pytest.raises(CheckpointError, match="lacks scan_hidden"):
        make(**kwargs).load_state_dict(make(**dict(kwargs, height_scan_dropout=0.0)).state_dict())
    course = make(num_envs=4, ground=build_course("stairs_up_10cm"), height_scan_in_policy=True,
                  height_scan_dropout=1.0, course="stairs_up_10cm")
    assert course.scan_hidden is None  # evaluation courses always see the ground


def feet_world(state):
    """[N, 4, 3] world foot centres."""
    f = aos_fields(state)
    foot_b, _, _ = leg_kinematics(f["joint_pos"].view(-1, 4, 3), leg_geometry(torch.device("cpu")))
    return f["pos"][:, None, :] + (foot_b - torch.tensor(robot.COM_OFFSET)) @ quat_to_rotmat(f["quat"]).transpose(1, 2)


def stair_pose(dz):
    """Actions for the default stance with the front feet ``dz`` higher and the rear feet ``dz`` lower (IK)."""
    geometry = leg_geometry(torch.device("cpu"))
    q = torch.tensor(robot.DEFAULT_JOINT_POS).view(1, 4, 3)
    target, _, _ = leg_kinematics(q, geometry)
    target[0, :, 2] += torch.tensor([dz, dz, -dz, -dz])
    for _ in range(10):  # Newton steps on the legs' closed-form kinematics
        foot, _, jacobian = leg_kinematics(q, geometry)
        q = q + torch.linalg.solve(jacobian, (target - foot).unsqueeze(-1)).squeeze(-1)
    return (q.view(1, 12) - torch.tensor(robot.DEFAULT_JOINT_POS)) / robot.ACTION_SCALE


def test_a_robot_standing_across_two_stair_treads_stays_up():
    """Facing down the 10 cm stairs, front feet one tread lower (legs set 10 cm apart), fixed dynamics: 3 s."""
    course = build_course("stairs_down_10cm")
    course = dataclasses.replace(course, tile_origins=torch.tensor([[[3.05, 2.0, 0.0]]]))  # on the stairs
    fixed = dict(STILL, friction_range=(1.0, 1.0), payload_mass_range=(0.0, 0.0), motor_strength_range=(1.0, 1.0))
    env = make(num_envs=2, ground=course, spawn=SpawnSpec(xy_noise=0.0, yaw=0.0), noise_level=0.0,
               randomization=fixed)
    env.reset()
    actions = stair_pose(-0.05).expand(2, 12)
    for step in range(150):  # 3 s
        _, _, dones, _ = env.step(actions)
        assert not dones.any()
        if step == 99:
            settled = env.state.pos.clone()
    assert float((env.state.pos - settled).abs().max()) < 0.01  # at rest for the last second
    assert env.last_contacts.all()
    feet = feet_world(env.state)  # [N, 4, 3]: front feet on the -0.6 m tread, rear feet on the -0.5 m one
    assert torch.allclose(feet[:, :2, 2], torch.tensor(-0.6 + robot.FOOT_RADIUS), atol=0.01)
    assert torch.allclose(feet[:, 2:, 2], torch.tensor(-0.5 + robot.FOOT_RADIUS), atol=0.01)
    assert ((env.critic_obs[:, 51] > 0.15) & (env.critic_obs[:, 51] < 0.35)).all()  # above the local ground
    with torch.inference_mode():  # the feet_clearance reward's input: each foot above its own tread
        clearance = measure(env.state, env.task, env.terrain, env._scan).foot_clearance
    assert float(clearance.abs().max()) < 0.01
    roll, pitch, _ = roll_pitch_yaw(quat_to_rotmat(env.state.quat.t()))
    assert float(roll.abs().max()) < 0.05 and float(pitch.abs().max()) < 0.4


def test_falls_and_knee_collisions_use_the_local_ground():
    plateau = build_course("stairs_up_10cm")
    plateau = dataclasses.replace(plateau, heights=torch.full_like(plateau.heights, 2.0))  # everything 2 m up
    env = make(num_envs=2, ground=plateau, noise_level=0.0, randomization=STILL, episode_length_s=1.0)
    env.reset()
    for _ in range(40):
        _, rewards, dones, extras = env.step(torch.zeros(2, 12))
        assert not dones.any()  # 2 m above z = 0, yet no "trunk under the ground" fall
    assert 0.2 < float(env.critic_obs[:, 51].mean()) < 0.3  # base height above the plateau, as on flat ground
    with torch.inference_mode():  # knees (collision penalty) and trunk/head (falls): above the local ground
        local, absolute = measure(env.state, env.task, env.terrain, env._scan), measure(env.state, env.task)
    assert torch.allclose(local.knee_height, absolute.knee_height - 2.0, atol=1e-5)
    assert torch.allclose(local.lowest_body_point, absolute.lowest_body_point - 2.0, atol=1e-3)
    assert torch.allclose(local.foot_clearance, absolute.foot_clearance - 2.0, atol=1e-5)
    assert float(local.foot_clearance.abs().max()) < 0.01  # standing: the feet on the plateau
    with torch.inference_mode():
        env.state.pos[2, 0] -= 0.25  # push robot 0's trunk into the plateau
    _, _, dones, extras = env.step(torch.zeros(2, 12))
    assert bool(dones[0]) and not bool(dones[1]) and not bool(extras["time_outs"][0])


def test_a_head_pitched_into_a_riser_is_a_fall():
    """The head sphere meets the face of a higher step (MuJoCo's head geom does): a fall even while the ground
    under it is far below; 6 cm from the riser, it is clear."""
    env = make(num_envs=2, ground=build_course("stairs_up_10cm"), noise_level=0.0, randomization=STILL)
    env.reset()
    head_x = torch.tensor([1.5 - 0.03, 1.5 - 0.06])  # first riser at x = 1.5 m; head radius 4.7 cm
    head_z = 0.08  # below the step's 0.1 m top, 3.3 cm above the ground under the head
    with torch.inference_mode():
        origin = torch.stack([head_x - robot.HEAD_CENTER[0], torch.zeros(2),
                              torch.full((2,), head_z - robot.HEAD_CENTER[2])])
        env.state.pos[:] = origin + torch.tensor(robot.COM_OFFSET).unsqueeze(1)
        env.state.quat[:] = torch.tensor([[1.0], [0.0], [0.0], [0.0]])
        m = measure(env.state, env.task, env.terrain, env._scan)
    assert m.fallen.tolist() == [True, False]
    assert float(m.lowest_body_point[0]) == pytest.approx(-(robot.HEAD_RADIUS - 0.03), abs=1e-4)


def test_curriculum_moves_levels_by_legged_gyms_rule_at_episode_ends():
    env = make(num_envs=8, terrain=SMALL_ROUGH, noise_level=0.0, randomization=STILL)
    curriculum = env.curriculum
    assert int(curriculum.levels.max()) <= 2  # the first reset only draws levels in 0..max_init_level
    first = curriculum.levels.clone()
    env.reset()
    assert torch.equal(curriculum.levels, first)  # reset() never moves levels
    env.set_command((1.0, 0.0, 0.0))  # commanded distance 20 m: moving down below 10 m walked
    with torch.inference_mode():
        curriculum.levels[:] = torch.tensor([2, 2, 4, 4, 1, 0, 3, 3])
        env.commands[7] = 0.0  # no command: neither up nor down
        env.state.pos[0, [0, 2, 6]] += 5.0  # "walked" 5 m > half a tile (4 m)
        env.episode_length_buf[:] = env.max_episode_length - 1
    _, _, dones, extras = env.step(torch.zeros(8, 12))
    assert dones.all()
    levels = curriculum.levels
    assert levels[[0, 1, 3, 4, 5, 6, 7]].tolist() == [3, 1, 3, 0, 0, 4, 3]
    assert 0 <= int(levels[2]) < 5  # beyond the top level: solved, a random level
    assert float(extras["episode"]["terrain_level"]) == pytest.approx(float(levels.float().mean()))
    origins = env.terrain.tile_origins[levels, curriculum.columns][:, :2]
    assert float((env.state.pos[:2].t() - origins).abs().max()) <= 1.0 + 0.01  # respawned on the new tiles


def test_terrain_and_curriculum_resume_bit_exactly():
    kwargs = dict(num_envs=12, seed=5, episode_length_s=0.3, terrain=SMALL_ROUGH, height_scan_in_policy=True)
    env = make(**kwargs)
    gen = torch.Generator().manual_seed(0)
    actions = [torch.randn(12, 12, generator=gen) for _ in range(40)]
    for a in actions[:15]:
        env.step(a)
    saved = env.state_dict()
    reference = [env.step(a) for a in actions[15:]]
    resumed = make(**kwargs)
    resumed.load_state_dict(saved)
    for a, (obs, rew, done, extras) in zip(actions[15:], reference):
        obs2, rew2, done2, extras2 = resumed.step(a)
        assert all(torch.equal(obs[k], obs2[k]) for k in obs) and torch.equal(rew, rew2) and torch.equal(done, done2)
        assert ("episode" in extras) == ("episode" in extras2)
        if "episode" in extras:
            assert torch.equal(extras["episode"]["terrain_level"], extras2["episode"]["terrain_level"])
    assert any("episode" in r[3] for r in reference)  # curriculum updates happened after the save
    assert torch.equal(env.curriculum.levels, resumed.curriculum.levels)
    with pytest.raises(CheckpointError, match="another terrain"):
        make(**dict(kwargs, seed=6)).load_state_dict(saved)  # other seed, other ground
    other_surface = make(**dict(kwargs, terrain=dict(SMALL_ROUGH, slope_threshold=0.5)))  # same array, risers elsewhere
    before = other_surface.state_dict()
    with pytest.raises(CheckpointError, match="another terrain surface"):
        other_surface.load_state_dict(saved)
    assert torch.equal(other_surface.curriculum.levels, before["terrain"]["curriculum"]["levels"])  # nothing changed
    flat = make(num_envs=12, seed=5, height_scan_in_policy=True)  # the same buffer shapes, on flat ground
    with pytest.raises(CheckpointError, match="saved on flat ground"):
        resumed.load_state_dict(flat.state_dict())
    with pytest.raises(CheckpointError, match="saved on terrain"):
        flat.load_state_dict(saved)


def test_render_draws_the_height_field():
    pytest.importorskip("matplotlib")
    env = make(num_envs=1, ground=build_course("stairs_up_10cm"), spawn=SpawnSpec(0.0, 0.0))
    frame = env.render(width=160, height=120)
    assert frame.shape == (120, 160, 3) and env._renderer.terrain is not None
    assert env._renderer.terrain.height_at([3.05], [2.05])[0] == pytest.approx(0.6)  # step 6 under the cell centre
    env.close()


@pytest.mark.parametrize("data, key", [
    ({"terrain": {"type": "hilly"}}, "env.params.terrain.type"),
    ({"terrain": {"type": "rough", "proportions": {"stairs_up": 0.0}}}, "env.params.terrain.proportions"),
    ({"terrain": {"proportions": {"stair_up": 1.0}}}, "env.params.terrain.proportions.stair_up"),
    ({"terrain": {"scan_x": []}}, "env.params.terrain.scan_x"),
    ({"terrain": {"scan_y": [0.0, "a"]}}, "env.params.terrain.scan_y[1]"),
    ({"terrain": {"scan_clip": 0.0}}, "env.params.terrain.scan_clip"),
    ({"terrain": {"difficulty_max": 1.5}}, "env.params.terrain.difficulty_max"),
    ({"terrain": {"type": "rough", "num_rows": 200, "num_cols": 200}}, "env.params.terrain.max_cells"),
    ({"height_scan_in_policy": "yes"}, "env.params.height_scan_in_policy"),
    ({"height_scan_in_policy": True, "height_scan_dropout": 1.5}, "env.params.height_scan_dropout"),
    ({"height_scan_in_policy": True, "height_scan_dropout": True}, "env.params.height_scan_dropout"),
    ({"height_scan_dropout": 0.2}, "env.params.height_scan_dropout"),
])
def test_bad_terrain_input_is_one_named_config_error(data, key):
    with pytest.raises(ConfigError) as err:
        build_dataclass(Go2ToyParams, data, "env.params", "cfg.yaml")
    assert str(err.value).startswith(f"cfg.yaml: {key}: "), str(err.value)
    assert "\n" not in str(err.value)


def test_a_terrain_section_validates_with_proportions_and_plain_dicts():
    params = build_dataclass(Go2ToyParams, {"terrain": {"type": "rough", "proportions": {"stairs_up": 1}},
                                            "height_scan_in_policy": True}, "env.params", "cfg.yaml")
    assert params.terrain.proportions["stairs_up"] == 1.0 and params.terrain.proportions["rough_slope"] == 0.0
    assert Go2ToyParams(terrain={"type": "rough"}).terrain.num_scan_points == 187
    with pytest.raises(ConfigError, match="^terrain: type: "):
        Go2ToyParams(terrain={"type": "hilly"})

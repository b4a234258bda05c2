"""go2-mujoco on terrain: the hfield equals the torch array, spawn, curriculum, local ground, scan, resume, memory."""
import copy
import dataclasses
import json
import math
import os
import subprocess
import sys

import mujoco  # the mujoco extra is installed by scripts/setup.sh: a missing one fails here, it never skips
import numpy as np
import pytest
import torch

from fastembody_core import CheckpointError, ConfigError, RunContext
from fastembody_go2 import robot
from fastembody_go2.mujoco.config import Go2MujocoParams
from fastembody_go2.mujoco.driver import RolloutDriver
from fastembody_go2.mujoco.env import Go2MujocoEnv
from fastembody_go2.mujoco.model import set_env_dynamics
from fastembody_go2.mujoco.shared_driver import SharedModelDriver
from fastembody_go2.mujoco.task_step import Columns, SensorIndex, measure
from fastembody_go2.terrain.spawn import SpawnSpec
from fastembody_go2.task import CRITIC_TERMS, DEPLOYABLE_TERMS, HEIGHT_SCAN_TERM, POLICY_TERMS, term_dims
from fastembody_go2.terrain import (TILE_TYPES, TerrainParams, build_course, generate_terrain, ground_boxes,
                                    ground_height)

SMALL = dict(type="rough", num_rows=3, num_cols=3, tile_length=4.0, tile_width=4.0, border_size=1.0,
             platform_size=1.5, difficulty_min=0.5,
             proportions={"stairs_up": 1, "rough_slope": 1, "discrete_obstacles": 1})
STILL = {"push_robots": False, "init_joint_pos_scale": (1.0, 1.0), "init_base_vel": 0.0}


def make(num_envs=4, seed=0, ground=None, spawn=None, **params):
    """An env on ``params["terrain"]`` (SMALL by default), or on the given ``ground``."""
    params.setdefault("compile", False)
    params.setdefault("terrain", SMALL)
    return Go2MujocoEnv(Go2MujocoParams(num_envs=num_envs, **params), RunContext(seed=seed), terrain=ground,
                        spawn=spawn)


def ray_heights(model, x, y, top=10.0):
    """Surface z under world (x, y) by mj_ray through ``model`` (the robot parked out of the way)."""
    data = mujoco.MjData(model)
    data.qpos[2] = 50.0
    mujoco.mj_forward(model, data)
    geom = np.zeros(1, np.int32)
    down = np.array([0.0, 0.0, -1.0])
    return np.array([top - mujoco.mj_ray(model, data, np.array([a, b, top]), down, None, 1, -1, geom)
                     for a, b in zip(x, y)])


def test_env_hfield_equals_the_torch_array_of_the_run_seed():
    params = TerrainParams(type="rough")  # the default 10 x 20 map
    env = make(num_envs=2, seed=7, terrain=params)
    again = generate_terrain(params, 7)  # same seed -> same ground, built independently
    assert torch.equal(env.terrain.heights, again.heights)
    assert env.model.nhfield == 1
    rng = np.random.default_rng(0)
    hs, corner = again.horizontal_scale, again.corner
    tiles = [(9, 4), (6, 12), (3, 17), (5, 2), (0, 0)]  # stairs up / down, obstacles, rough slope, smooth slope
    assert [TILE_TYPES[int(again.tile_types[c])] for _, c in tiles] == [
        "stairs_up", "stairs_down", "discrete_obstacles", "rough_slope", "smooth_slope_up"]
    length = int(round(again.tile_length / hs))
    i = np.concatenate([again.border + r * length + rng.integers(0, length, 80) for r, _ in tiles])
    j = np.concatenate([again.border + c * length + rng.integers(0, length, 80) for _, c in tiles])
    x, y = corner + (i + 0.5) * hs, corner + (j + 0.5) * hs
    expected = again.heights[torch.from_numpy(i), torch.from_numpy(j)].numpy()
    assert np.ptp(expected) > 1.0  # real relief, not a flat patch
    # cells level with their 8 neighbours (treads, obstacle tops, platforms): MuJoCo's surface is the cell height
    # there (elsewhere it is the planar surface, checked against ground_surface in tests/terrain)
    windows = again.heights.unfold(0, 3, 1).unfold(1, 3, 1)  # [rows-2, cols-2, 3, 3]
    ptp = (windows.amax((-1, -2)) - windows.amin((-1, -2))).numpy()
    level = ptp[i - 1, j - 1] == 0
    assert level.sum() > 150 and np.ptp(expected[level]) > 1.0
    assert np.abs(ray_heights(env.model, x[level], y[level]) - expected[level]).max() < 1e-5
    # beyond the hfield (its border is cropped to hfield_border): level boxes at the border's height, 0
    assert ray_heights(env.model, [-20.0, 100.0, 40.0], [80.0, 80.0, 300.0]) == pytest.approx([0.0] * 3, abs=1e-6)
    assert env.model.geom_type[env.model.geom("terrain").id] == mujoco.mjtGeom.mjGEOM_HFIELD
    # the flat-topped ground as boxes (tests/terrain/test_terrain_mujoco_boxes.py), one geom per merged rectangle
    names = [env.model.geom(g).name for g in range(env.model.ngeom)]
    assert sum(n.startswith("terrain_box") for n in names) == len(ground_boxes(again).centres) > 1000
    env.close()


def test_same_seed_same_ground_other_seed_other_ground():
    a, b, c = make(num_envs=1, seed=1), make(num_envs=1, seed=1), make(num_envs=1, seed=2)
    assert np.array_equal(a.model.hfield_data, b.model.hfield_data)
    assert not np.array_equal(a.model.hfield_data, c.model.hfield_data)
    assert not torch.equal(a.terrain.heights, c.terrain.heights)
    for e in (a, b, c):
        e.close()


def test_flat_default_is_todays_plane():
    env = make(num_envs=2, terrain={"type": "flat"})
    assert env._tiles is None and env.curriculum is None and env.model.nhfield == 0
    assert tuple(env.terrain.heights.shape) == (1, 1)  # the one-cell zero field, as go2-toy
    assert env.model.geom_type[env.model.geom("floor").id] == mujoco.mjtGeom.mjGEOM_PLANE
    assert env.observation_terms == {"policy": POLICY_TERMS, "deployable": DEPLOYABLE_TERMS, "critic": CRITIC_TERMS}
    assert len(env.models) == 2 and env.height_scan().shape == (2, 187)  # the scan reads flat ground
    assert torch.allclose(env.height_scan(), torch.from_numpy(env.state[:, 3:4]).float() - 0.5)
    env.close()


@pytest.fixture(scope="module")
def on_stairs():
    """Four robots spawned facing up the 10 cm stair course with their base over the second tread (0.2 m)."""
    course = build_course("stairs_up_10cm")
    origins = course.tile_origins.clone()
    origins[0, 0, 0] = 1.95  # the tread covers x in [1.8, 2.1)
    env = make(ground=dataclasses.replace(course, tile_origins=origins), spawn=SpawnSpec(0.0, 0.0),
               noise_level=0.0, randomization=STILL, terrain={"type": "flat"})
    env.set_command((0.0, 0.0, 0.0))
    yield env
    env.close()


def test_a_robot_on_a_stair_tread_stands_under_zero_action(on_stairs):
    env = on_stairs
    assert env.state[:, 1:3] == pytest.approx(np.tile([1.95, 2.0], (4, 1)), abs=1e-6)  # the given spawn, facing +x
    for _ in range(100):  # 2 s
        _, _, dones, _ = env.step(torch.zeros(4, 12))
        assert not bool(dones.any())
    m = env._measure()
    assert bool(m.foot_contacts.all())
    feet = env.sensors[:, env.index.foot_pos].reshape(4, 4, 3)
    ground = ground_height(env.terrain, torch.from_numpy(feet[..., 0]).float(),
                           torch.from_numpy(feet[..., 1]).float()).numpy()
    assert feet[..., 2] - ground == pytest.approx(np.full((4, 4), robot.FOOT_RADIUS), abs=0.005)  # on the treads
    assert np.ptp(ground[0]) > 0.05  # the legs stand on different steps
    # the feet_clearance reward's input: each foot's bottom above the ground under it, not above z = 0
    assert m.foot_clearance.numpy() == pytest.approx(feet[..., 2] - robot.FOOT_RADIUS - ground, abs=1e-5)
    assert float(m.foot_clearance.abs().max()) < 0.005


def test_base_height_and_height_scan_are_measured_from_the_local_ground(on_stairs):
    env = on_stairs
    base = env.state[:, 1:4]
    local = base[:, 2] - ground_height(env.terrain, torch.from_numpy(base[:, 0]).float(),
                                       torch.from_numpy(base[:, 1]).float()).numpy()
    m = env._measure()
    assert m.base_height.numpy() == pytest.approx(local, abs=1e-6)
    assert 0.2 < float(m.base_height.min()) and float(m.base_height.max()) < 0.36 < float(base[:, 2].min())
    critic = env.get_observations()["critic"]
    names = env.observation_terms["critic"]
    column = sum(term_dims()[n] for n in names[:names.index("base_height")])  # 48 + friction, payload, strength
    assert critic[:, column].numpy() == pytest.approx(local, abs=1e-6)
    # the scan's centre column (y = 0) along x: the course's step heights, analytic (0.1 m per 0.3 m tread)
    scan = env.height_scan()
    yaw = math.atan2(2 * env.state[0, 4] * env.state[0, 7], 1 - 2 * env.state[0, 7] ** 2)
    xs = base[0, 0] + np.cos(yaw) * np.arange(-0.8, 0.81, 0.1)
    steps = np.clip(np.floor((xs - 1.5) / 0.3) + 1, 0, 20) * 0.1
    expected = np.clip(base[0, 2] - 0.5 - steps, -1.0, 1.0)
    assert scan[0].reshape(17, 11)[:, 5].numpy() == pytest.approx(expected, abs=1e-5)
    assert critic[:, -187:].numpy() == pytest.approx(5.0 * scan.numpy(), abs=1e-5)  # the critic's height_scan


def test_a_base_below_the_local_ground_is_a_fall():
    env = make(num_envs=2)
    state, sensors = torch.from_numpy(env.state.copy()), torch.zeros_like(torch.from_numpy(env.sensors))
    state[:, 3] = torch.tensor([0.5, 0.1])
    m = measure(state, sensors, Columns.of(SensorIndex.of(env.layout)), 0.8, 1.0, torch.tensor([0.2, 0.2]))
    assert m.base_height.tolist() == pytest.approx([0.3, -0.1]) and m.fallen.tolist() == [False, True]
    flat = measure(state, sensors, Columns.of(SensorIndex.of(env.layout)), 0.8, 1.0)
    assert flat.base_height.tolist() == pytest.approx([0.5, 0.1]) and not bool(flat.fallen.any())
    env.close()


def test_curriculum_moves_levels_by_legged_gyms_rule():
    flat_tiles = dict(type="rough", num_rows=4, num_cols=2, border_size=1.0, max_init_level=1,
                      proportions={"flat": 1})  # 8 m tiles, all level: teleporting robots is harmless
    env = make(num_envs=4, episode_length_s=1.0, noise_level=0.0, randomization=STILL, terrain=flat_tiles)
    drawn = env.curriculum.levels.clone()
    assert int(drawn.max()) <= 1
    env.reset()  # the first reset placed them; resets outside step never move levels
    assert torch.equal(env.curriculum.levels, drawn)
    env.set_command((1.0, 0.0, 0.0))  # commanded distance 1 m per 1 s episode: down below 0.5 m walked
    env.curriculum.levels = torch.tensor([1, 1, 1, 3])
    walked = np.array([[5.0, 0.0], [0.2, 0.0], [2.0, 0.0], [0.0, 5.0]])  # up | down | stay | solved the top
    env.state[:, 1:3] = env._tiles.spawn_xy.numpy() + walked
    env.episode_length_buf = torch.full((4,), env.max_episode_length - 1)  # settable, as the trainer does
    _, _, dones, extras = env.step(torch.zeros(4, 12))
    assert bool(dones.all())
    levels = env.curriculum.levels
    assert levels[:3].tolist() == [2, 0, 1] and 0 <= int(levels[3]) < 4
    assert float(extras["episode"]["terrain_level"]) == pytest.approx(float(levels.float().mean()))
    origins = env.terrain.tile_origins[levels, env.curriculum.columns][:, :2]
    assert (env._tiles.spawn_xy - origins).abs().max() <= 1.0  # respawned on the new tiles
    assert (env.base_pos[:, :2] - env._tiles.spawn_xy).abs().max() < 1e-6
    env.close()


def test_state_dict_resumes_terrain_and_curriculum_exactly():
    a = make(seed=3, episode_length_s=1.0)
    a.curriculum.levels = torch.full((4,), 2)
    gen = torch.Generator().manual_seed(0)
    for _ in range(60):  # falls and time-outs: respawns and curriculum moves
        a.step(torch.randn(4, 12, generator=gen))
    assert int(a.curriculum.levels.min()) < 2
    saved = a.state_dict()
    c = make(seed=3, episode_length_s=1.0)
    c.step(torch.randn(4, 12, generator=torch.Generator().manual_seed(5)))  # diverge first
    c.load_state_dict(saved)
    for _ in range(40):
        actions = torch.randn(4, 12, generator=gen)
        oa, ra, da, xa = a.step(actions)
        oc, rc, dc, xc = c.step(actions)
        for group in oa:
            torch.testing.assert_close(oa[group], oc[group], rtol=0, atol=0)
        torch.testing.assert_close(ra, rc, rtol=0, atol=0)
        assert torch.equal(da, dc) and ("episode" in xa) == ("episode" in xc)
        if "episode" in xa:
            assert float(xa["episode"]["terrain_level"]) == float(xc["episode"]["terrain_level"])
    assert torch.equal(a.curriculum.levels, c.curriculum.levels)
    with pytest.raises(CheckpointError, match="terrain"):
        make(seed=4, episode_length_s=1.0).load_state_dict(saved)  # another seed: another ground
    with pytest.raises(CheckpointError, match="flat"):
        make(terrain={"type": "flat"}).load_state_dict(saved)
    for e in (a, c):
        e.close()


@pytest.mark.parametrize("use_rollout", [True, False])
def test_shared_models_step_exactly_like_one_model_per_env(use_rollout):
    env = make(num_envs=7, seed=2, dynamics_buckets=3, nthread=2)
    for _ in range(3):
        env.step(torch.zeros(7, 12))
    state = env.state.copy()
    ctrl = np.tile(env._q0_ctrl, (7, 1)) + np.random.default_rng(0).normal(0.0, 0.3, (7, 12))
    shared = SharedModelDriver(copy.copy(env.model), env.layout, env.nominal, 7, 2, use_rollout)
    shared.assign(env.env_bucket.numpy(), env.bucket_dynamics.numpy())
    own = []
    for i in range(7):  # what one MjModel per env (today's flat scheme) would step with
        model = copy.copy(env.model)
        set_env_dynamics(model, env.layout, env.nominal, *(float(v) for v in env.bucket_dynamics[env.env_bucket[i]]))
        own.append(model)
    outputs = []
    for driver in (shared, RolloutDriver(own, 2)):
        out_state, out_sensors = np.zeros_like(state), np.zeros_like(env.sensors)
        driver.step(state, ctrl, robot.DECIMATION, out_state, out_sensors)
        driver.close()
        outputs.append((out_state, out_sensors))
    assert len(set(env.env_bucket.tolist())) > 1 and not np.array_equal(outputs[0][0], state)
    np.testing.assert_array_equal(outputs[0][0], outputs[1][0])
    np.testing.assert_array_equal(outputs[0][1], outputs[1][1])
    env.close()


def test_height_scan_observation_groups():
    rough = make(num_envs=2)
    assert rough.observation_terms["critic"] == CRITIC_TERMS + (HEIGHT_SCAN_TERM,)
    assert rough.observation_shapes == {"policy": (48,), "deployable": (45,), "critic": (56 + 187,)}
    teacher = make(num_envs=2, height_scan_in_policy=True, deployable_policy=True)
    obs = teacher.get_observations()
    assert {k: tuple(v.shape) for k, v in obs.items()} == {"policy": (2, 45 + 187), "deployable": (2, 45),
                                                             "critic": (2, 56 + 187)}
    scan = 5.0 * teacher.height_scan()
    noise = (obs["policy"][:, 45:] - scan).abs()
    assert 0.0 < float(noise.max()) <= 0.5 + 1e-5  # legged_gym's +-0.1 m x 5 in the policy, none in the critic
    assert torch.allclose(obs["critic"][:, 56:], scan, atol=1e-6)
    flat = make(num_envs=2, height_scan_in_policy=True, terrain={"type": "flat"})
    assert flat.observation_shapes == {"policy": (48 + 187,), "deployable": (45,), "critic": (56 + 187,)}
    for e in (rough, teacher, flat):
        e.close()


def test_config_validates_without_torch_or_mujoco():
    with pytest.raises(ConfigError, match="hfield_upsample"):
        Go2MujocoParams(hfield_upsample=0)
    with pytest.raises(ConfigError, match="terrain"):
        Go2MujocoParams(terrain={"type": "bumpy"})
    with pytest.raises(ConfigError, match="height_scan_in_policy"):
        Go2MujocoParams(height_scan_in_policy="yes")
    with pytest.raises(ConfigError, match="ground_boxes"):
        Go2MujocoParams(ground_boxes="yes")
    code = ("import sys; from fastembody_go2.mujoco.config import Go2MujocoParams; "
            "p = Go2MujocoParams(terrain={'type': 'rough'}); print(p.terrain.type, 'torch' in sys.modules, "
            "'mujoco' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["rough", "False", "False"], out.stderr


MEMORY_PROBE = """
import json, torch
from fastembody_core import RunContext
from fastembody_go2.mujoco.config import Go2MujocoParams
from fastembody_go2.mujoco.env import make_go2_mujoco
from fastembody_go2.mujoco.terrain import hfield_bytes
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096
before = rss()
env = make_go2_mujoco(Go2MujocoParams(num_envs=64, compile=False, nthread=2, terrain={"type": "rough"},
                                      hfield_upsample=4), RunContext(seed=1))
for _ in range(20):
    env.step(torch.zeros(64, 12))
print(json.dumps({"grown": rss() - before, "hfield": hfield_bytes(env.model), "models": len(env.driver.models)}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_default_rough_terrain_memory_does_not_grow_with_buckets():
    out = subprocess.run([sys.executable, "-c", MEMORY_PROBE], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    assert probe["models"] == 2 and 80e6 < probe["hfield"] < 90e6  # 88 MB a copy at upsample 4 (1 by default)
    # one hfield per stepping thread (not per dynamics bucket: 64 x 85 MB = 5.4 GB) plus the torch terrain, the ~6 k
    # ground boxes in every model copy and the allocator's leftovers from building them (measured 262-293 MB in all)
    assert probe["grown"] < 2 * probe["hfield"] + 200e6, probe


RENDER_PROBE = """
import numpy as np, torch
from fastembody_core import RunContext
from fastembody_go2.mujoco.config import Go2MujocoParams
from fastembody_go2.mujoco.env import Go2MujocoEnv
from fastembody_go2.terrain import build_course
env = Go2MujocoEnv(Go2MujocoParams(num_envs=1, compile=False), RunContext(seed=0),
                   terrain=build_course("stairs_down_15cm"))
frames = [env.render(0, 160, 120)]
env.state[0, 1:4] += (6.0, 0.0, -0.9)  # down the stairs: the drawn patch follows
frames.append(env.render(0, 160, 120))
sky = np.array([f[:5].reshape(-1, 3).mean(0) for f in frames])
ground = np.array([np.abs(f[-40:].astype(float) - s).sum(-1).mean() for f, s in zip(frames, sky)])
print(" ".join(f"{g:.1f}" for g in ground), frames[0].shape)
"""


def test_render_draws_the_terrain_under_the_robot():
    out = subprocess.run([sys.executable, "-c", RENDER_PROBE], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, MUJOCO_GL="egl"))
    assert out.returncode == 0, out.stderr
    values = out.stdout.split()
    assert all(float(v) > 20.0 for v in values[:2]), out.stdout  # ground, not sky, in the lower part of each frame


def test_a_terrain_too_large_for_memory_is_refused_with_its_size_before_anything_is_built():
    from fastembody_core import ResourceError, make_env

    with pytest.raises(ResourceError, match=r"go2-mujoco's terrain \(\d+ x \d+ cells at hfield_upsample 64: \d+ MB "
                                            r"per MuJoCo model, \d+ copies\) needs about .*hfield_upsample"):
        make_env("go2-mujoco", {"num_envs": 1, "compile": False, "hfield_upsample": 64, "terrain": {"type": "rough"}})

"""go2-toy's software renderer (no OpenGL): geometry, pixels where expected, and ``fastembody play --video``."""
import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from fastembody_core import EnvError, RunContext

from fastembody_go2 import robot
from fastembody_go2.toy.config import Go2ToyParams
from fastembody_go2.toy.env import Go2ToyEnv
from fastembody_go2.toy.render import SoftwareRenderer
from fastembody_go2.toy.render_scene import HeightField, column_ground, robot_points, scene_from_env


def make(num_envs=2, seed=0):
    return Go2ToyEnv(Go2ToyParams(num_envs=num_envs, compile=False), RunContext(seed=seed))


@pytest.fixture(scope="module")
def standing():
    """An env whose robots stand after a few zero-action steps (feet on the ground)."""
    env = make(num_envs=3, seed=4)
    for _ in range(12):
        env.step(torch.zeros(3, 12))
    yield env
    env.close()


def pixel(camera, point):
    (x, y), depth = camera.project(np.asarray(point))
    assert depth > 0
    return int(round(x)), int(round(y))


def test_robot_points_follow_the_leg_kinematics():
    pos, yaw = np.array([1.0, -2.0, 0.3]), math.pi / 2
    quat = np.array([math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)])
    p = robot_points(pos, quat, robot.DEFAULT_JOINT_POS)
    assert np.allclose(p.base, pos - p.rotation @ np.asarray(robot.COM_OFFSET))
    body = (p.trunk - p.base) @ p.rotation  # back to the base frame: the box of TRUNK_HALF_SIZES
    half = np.asarray(robot.TRUNK_HALF_SIZES)
    assert np.allclose(body.max(0), half) and np.allclose(body.min(0), -half)
    assert np.allclose(np.linalg.norm(p.thighs - p.hips, axis=-1), robot.THIGH_OFFSET_Y)
    assert np.allclose(np.linalg.norm(p.knees - p.thighs, axis=-1), robot.THIGH_LENGTH)
    assert np.allclose(np.linalg.norm(p.feet - p.knees, axis=-1), robot.CALF_LENGTH)
    assert (p.feet[:, 2] < p.knees[:, 2]).all() and (p.knees[:, 2] < p.hips[:, 2]).all()
    front_left = (p.hips[0] - p.base) @ p.rotation
    assert front_left[0] > 0 and front_left[1] > 0  # FL is at +x, +y of the body, whatever the yaw
    assert p.head[:, 0].mean() > pos[0] - 0.05 and p.head[:, 1].mean() > pos[1] + 0.15  # yaw 90 deg: head at +y


def test_frame_shape_dtype_and_size(standing):
    frame = standing.render()
    assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8
    assert frame.std() > 20  # not a blank picture
    small = standing.render(env_id=0, width=161, height=121)
    assert small.shape == (121, 161, 3) and small.dtype == np.uint8
    assert np.array_equal(standing.render(), frame)  # same state, same picture, after a size change


def test_robot_is_drawn_where_the_tracking_camera_puts_it(standing):
    frame = standing.render(env_id=0)
    scene, camera = scene_from_env(standing, 0), standing._renderer.last_camera
    x, y = pixel(camera, scene.robot.base)
    assert abs(x - 320) < 0.15 * 640 and abs(y - 240) < 0.2 * 480  # the camera tracks the base
    r, g, b = (int(c) for c in frame[y, x])
    assert (r + g + b) / 3 < 170 and b > r + 15  # the trunk's shaded blue-grey, not the light ground
    feet = [pixel(camera, foot) for foot in scene.robot.feet]
    hips = [pixel(camera, hip) for hip in scene.robot.hips]
    assert all(fy > hy + 25 for (_, fy), (_, hy) in zip(feet, hips))  # standing: each foot drawn below its hip
    assert np.mean([fy for _, fy in feet]) > y + 30  # and the feet below the trunk
    assert scene.contacts.all()
    for leg in (1, 3):  # FR and RR face the camera (front right): red dots where their feet are
        fx, fy = feet[leg]
        r, g, b = (int(c) for c in frame[fy, fx])
        assert r > 170 and g < 90 and b < 90, (leg, (r, g, b))


def test_picture_changes_when_the_joints_move(standing):
    before = standing.render(env_id=1)
    saved = standing.state.joint_pos.clone()
    with torch.inference_mode():
        standing.state.joint_pos[1, :, 1] += 0.6  # swing every thigh of env 1
        standing.state.joint_pos[2, :2, 1] -= 0.4  # and bend its front knees
    moved = standing.render(env_id=1)
    with torch.inference_mode():
        standing.state.joint_pos.copy_(saved)
    changed = (np.abs(moved.astype(int) - before.astype(int)).sum(-1) > 30)
    assert changed.sum() > 1500
    rows, cols = np.nonzero(changed)
    assert 80 < rows.mean() < 400 and 120 < cols.mean() < 520  # the robot changed, in the middle of the picture
    assert np.array_equal(standing.render(env_id=1), before)


def test_ground_scrolls_under_a_tracked_robot(standing):
    before = standing.render(env_id=2)
    x_before = pixel(standing._renderer.last_camera, scene_from_env(standing, 2).robot.base)
    with torch.inference_mode():
        standing.state.pos[:2, 2] += 0.25  # half a ground tile
    try:
        after = standing.render(env_id=2)
        x_after = pixel(standing._renderer.last_camera, scene_from_env(standing, 2).robot.base)
    finally:
        with torch.inference_mode():
            standing.state.pos[:2, 2] -= 0.25
    assert x_after == x_before  # the camera followed the base
    corner = np.abs(after[380:, :120].astype(int) - before[380:, :120].astype(int)).sum(-1)
    assert (corner > 20).mean() > 0.05  # but the checkerboard moved


def test_every_env_renders_and_a_bad_env_id_is_an_env_error(standing):
    frames = [standing.render(env_id=i, width=320, height=240) for i in range(3)]
    assert all(f.shape == (240, 320, 3) for f in frames)
    assert not np.array_equal(frames[0], frames[2])
    for bad in (3, -1):
        with pytest.raises(EnvError, match=r"env_id must be in \[0, 3\)"):
            standing.render(env_id=bad)


def test_height_field_ground():
    field = HeightField(np.array([[0.0, 1.0], [2.0, 3.0]]), horizontal_scale=0.5, origin=(1.0, 1.0))
    # column tops (go2-toy's riser model): cell (i, j) spans +-0.25 m around its centre
    assert field.height_at(np.array([1.0, 1.5, 1.2, 1.3, 9.0]), np.array([1.0, 1.5, 1.2, 1.2, 1.0])).tolist() == \
        [0.0, 3.0, 0.0, 2.0, 2.0]
    assert field.smooth_height_at(np.array([1.25, 9.0]), np.array([1.25, 1.0])).tolist() == [1.5, 2.0]
    env = make(num_envs=1)
    flat = SoftwareRenderer().render(scene_from_env(env, 0), 320, 240)
    ripples = np.sin(np.arange(40)[:, None] * 0.7) * np.cos(np.arange(40)[None] * 0.5) * 0.1
    rough = SoftwareRenderer(terrain=HeightField(ripples, 0.25, (-5.0, -5.0))).render(scene_from_env(env, 0), 320, 240)
    assert rough.shape == flat.shape and not np.array_equal(rough, flat)


def test_stairs_are_drawn_as_treads_and_vertical_risers():
    # 0.1 m cells centred at 0.05 + 0.1 k; a 0.1 m step up at x = 1.0 and another at x = 1.3 (treads 0.3 m)
    x = 0.05 + 0.1 * np.arange(40)
    heights = np.repeat((0.1 * ((x >= 1.0).astype(float) + (x >= 1.3)))[:, None], 40, axis=1)
    ground = column_ground(HeightField(heights, 0.1, (0.05, 0.05)), (1.0, 2.0), 0.6)
    risers, tops = ground.quads[ground.riser], ground.quads[~ground.riser]
    assert np.allclose(risers[..., 0], risers[:, :1, 0])  # vertical: one x per face
    assert sorted(np.round(risers[:, 0, 0], 6).tolist()) == [1.0, 1.3]
    for face, (z0, z1) in zip(risers[np.argsort(risers[:, 0, 0])], [(0.0, 0.1), (0.1, 0.2)]):
        assert sorted({round(z, 6) for z in face[:, 2]}) == [z0, z1]
        assert np.ptp(face[:, 1]) == pytest.approx(2.0)  # one face across the window: tiles y 1.0..3.0
    assert np.allclose(tops[..., 2], tops[:, :1, 2])  # tops are flat
    assert set(np.round(tops[:, 0, 2], 6).tolist()) == {0.0, 0.1, 0.2}
    # every cell of the window is covered exactly once by a top: 0.1 m x 0.1 m per cell
    area = np.ptp(tops[..., 0], axis=1) * np.ptp(tops[..., 1], axis=1)
    assert area.sum() == pytest.approx(ground.tiles.shape[0] * 0.25)
    flat = column_ground(HeightField(np.zeros((40, 40)), 0.1, (0.05, 0.05)), (2.0, 2.0), 0.6)
    assert not flat.riser.any() and len(flat.quads) == 5 * len(flat.tiles)  # one merged top per row of a tile


def test_missing_matplotlib_is_one_env_error_naming_the_install(monkeypatch):
    env = make(num_envs=1)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import matplotlib.figure -> ImportError
    with pytest.raises(EnvError, match=r"needs matplotlib .*pip install matplotlib \(or fastembody-core\[plot\]\)"):
        env.render()


def test_play_writes_a_go2_toy_video(tmp_path):
    """``fastembody play RUN --env go2-toy --video``: a 1-iteration run, then an MP4 and a contact sheet."""
    import imageio.v2 as imageio

    from fastembody_core.config import experiment_from_dict
    from fastembody_core.pipeline import run_experiment

    run_dir = tmp_path / "run"
    run_experiment(experiment_from_dict({
        "name": "toy_render", "seed": 3, "device": "cpu",
        "env": {"name": "go2-toy", "params": {"num_envs": 64, "compile": False}},
        "algorithm": {"name": "ppo", "params": {"actor_hidden_dims": [32], "critic_hidden_dims": [32]}},
        "trainer": {"name": "on-policy", "params": {"max_iterations": 1, "num_steps_per_env": 8, "progress": False,
                                                     "tensorboard": False}},
    }), run_dir=run_dir)
    video = tmp_path / "walk.mp4"
    cmd = [sys.executable, "-m", "fastembody_core", "play", str(run_dir), "--env", "go2-toy", "--seconds", "0.5",
           "--video", str(video)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    metrics = json.loads((tmp_path / "walk.mp4.json").read_text())
    assert metrics["env"] == "go2-toy" and metrics["steps"] == 25 and "video_error" not in metrics, metrics
    assert video.stat().st_size > 10_000
    reader = imageio.get_reader(str(video))
    try:
        assert reader.count_frames() == 26  # the reset frame and one per policy step
        first = reader.get_data(0)
    finally:
        reader.close()
    assert first.shape == (480, 640, 3) and first.std() > 20
    sheet = imageio.imread(str(tmp_path / "walk_sheet.png"))
    assert sheet.shape == (480, 1280, 3) and sheet.std() > 20  # 8 frames at half size, 4 wide

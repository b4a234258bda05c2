"""The evaluation courses on go2-isaac, against the legged_gym stand-in (torch-free at import: the probe must
import Isaac Gym first).

The score and the cfg settings are checked in this process; the env is built in a fresh process (Isaac Gym must
be imported before torch): this file is also that probe, ``python test_isaac_courses.py CHECK...`` with
tests/isaac_standin on PYTHONPATH, printing one JSON line of check -> "ok" or the failure.
"""
import json
import subprocess
import sys
from typing import Dict

import pytest

from fastembody_core import ConfigError
from fastembody_go2.isaac.config import Go2IsaacParams

from isaac_testing import FASTEMBODY, ROOT, STANDIN, Probe, make_go2_isaac, standin_env as _env, tiny_run

CONFIG = ROOT / "configs" / "go2_rough_isaac.yaml"


def test_the_score_latches_a_crossing_and_counts_from_each_spawn_point():
    import torch

    from fastembody_go2.isaac.courses import CourseScore

    score = CourseScore(torch.tensor([0.0, 1.0, -0.5]))
    none = torch.zeros(3, dtype=torch.bool)
    assert score.update(torch.tensor([2.0, 5.1, 1.0]), none) is None  # env 1 is 4.1 m along: crossed
    assert score.update(torch.tensor([4.2, 3.0, 1.2]), none) is None  # env 0 crosses; env 1 walks back
    # all three episodes end in this step: legged_gym already reset them, so x is the new spawn point
    stats = score.update(torch.tensor([0.3, 0.4, 0.5]), torch.ones(3, dtype=torch.bool))
    assert stats["course_success"].tolist() == [1.0, 1.0, 0.0]
    assert stats["course_progress"].tolist() == pytest.approx([4.2, 4.1, 1.7])
    stats = score.update(torch.tensor([4.2, 0.4, 0.5]), torch.tensor([False, True, False]))  # from the new spawns
    assert stats["course_success"].tolist() == [0.0] and stats["course_progress"].tolist() == [0.0]
    assert score.update(torch.tensor([4.4, 0.4, 0.5]), none) is None  # env 0: 0.3 -> 4.4, crossed
    stats = score.update(torch.tensor([0.2, 0.4, 0.5]), torch.tensor([True, False, False]))
    assert stats["course_success"].tolist() == [1.0] and stats["course_progress"].tolist() == pytest.approx([4.1])


def test_cfg_settings_fix_the_command_and_grid_and_keep_the_layout():
    from fastembody_go2.isaac.courses import course_cfg_settings
    from fastembody_go2.terrain import build_course

    course = build_course("stairs_up_10cm")
    settings = course_cfg_settings(course, measure_heights=True)
    assert settings["terrain.mesh_type"] == "trimesh" and settings["terrain.curriculum"] is False
    assert (settings["terrain.num_rows"], settings["terrain.num_cols"]) == (1, 1)
    assert settings["terrain.border_size"] == pytest.approx(course.border * course.horizontal_scale)
    assert settings["commands.ranges.lin_vel_x"] == [0.5, 0.5] and settings["commands.heading_command"] is True
    assert settings["commands.ranges.heading"] == [0.0, 0.0]  # heading held along the course
    assert settings["commands.resampling_time"] > settings["env.episode_length_s"] == 20.0
    assert settings["domain_rand.push_robots"] is False
    assert course_cfg_settings(course, measure_heights=False)["terrain.measure_heights"] is False


def test_an_unknown_course_is_a_named_config_error():
    with pytest.raises(ConfigError, match=r"unknown course 'stairs'; courses: stairs_up_10cm"):
        Go2IsaacParams(course="stairs")


# -- the env against the stand-in (a fresh process per stand-in mode) -----------------------------------
UPSTREAM_CHECKS = ["course_reaches_legged_gym", "episodes_are_scored", "flat_layout_runs_a_course_too"]
UNITREE_CHECKS = ["plane_only_legged_robot_refuses_a_course"]




@pytest.fixture(scope="module")
def upstream_results():
    return PROBE.results(UPSTREAM_CHECKS, STANDIN_LEGGED_GYM="legged_gym")


@pytest.fixture(scope="module")
def unitree_results():
    return PROBE.results(UNITREE_CHECKS)


@pytest.mark.parametrize("name", UPSTREAM_CHECKS)
def test_with_legged_gyms_terrain(upstream_results, name):
    assert upstream_results.get(name) == "ok", upstream_results.get(name, f"check {name} did not run")


@pytest.mark.parametrize("name", UNITREE_CHECKS)
def test_with_unitree_rl_gyms_legged_robot(unitree_results, name):
    assert unitree_results.get(name) == "ok", unitree_results.get(name, f"check {name} did not run")


def test_fastembody_eval_runs_the_courses_and_export_works_on_go2_isaac(tmp_path):
    run_dir = tmp_path / "run"
    env = _env(STANDIN, STANDIN_LEGGED_GYM="legged_gym")
    out = subprocess.run([FASTEMBODY, "run", str(CONFIG), "--run-dir", str(run_dir), *tiny_run(save_interval=3)],
                         capture_output=True, text=True, cwd=ROOT, timeout=600, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    out = subprocess.run([FASTEMBODY, "eval", str(run_dir), "--courses", "stairs_up_10cm,slope_down_20deg",
                          "--episodes", "2", "--json"], capture_output=True, text=True, cwd=ROOT, timeout=600,
                         env=env)
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr[-3000:]
    report = json.loads(out.stdout)  # legged_gym's "Setting seed: ..." went to stderr
    assert "Setting seed" in out.stderr
    assert report["env"] == "go2-isaac" and list(report["courses"]) == ["stairs_up_10cm", "slope_down_20deg"]
    assert all(row["episodes"] == 2 and 0.0 <= row["success"] <= 1.0 for row in report["courses"].values())
    out = subprocess.run([FASTEMBODY, "export", str(run_dir)], capture_output=True, text=True, cwd=ROOT,
                         timeout=600, env=env)  # an Isaac run exports too (Isaac Gym imported before torch)
    assert out.returncode == 0 and (run_dir / "exported" / "policy.onnx").is_file(), out.stderr[-3000:]


# -- the probe (run as a script with the stand-in on PYTHONPATH) -----------------------------------------
PROBE = Probe(__file__)
check = PROBE.check


@check
def course_reaches_legged_gym() -> None:
    import numpy as np

    from fastembody_go2.terrain import build_course

    env = make_go2_isaac(Go2IsaacParams(num_envs=4, terrain={"type": "rough"}, course="stairs_up_10cm"))
    raw, cfg, course = env.unwrapped, env.unwrapped.cfg, build_course("stairs_up_10cm")
    assert (cfg.terrain.num_rows, cfg.terrain.num_cols, cfg.terrain.curriculum) == (1, 1, False)
    assert cfg.commands.heading_command is True and cfg.commands.ranges.lin_vel_x == [0.5, 0.5]
    assert cfg.env.episode_length_s == 20.0 and cfg.domain_rand.push_robots is False
    expected = np.rint(course.heights.double().numpy() / course.vertical_scale)
    assert np.array_equal(raw.height_samples.numpy(), expected)  # the same array as go2-toy's and go2-mujoco's
    assert raw.env_origins[:, 0].tolist() == pytest.approx([float(course.tile_origins[0, 0, 0])] * 4)
    assert env.observation_shapes["policy"] == (235,)
    from legged_gym.envs.base import legged_robot
    from legged_gym.utils.terrain import Terrain

    assert legged_robot.Terrain is Terrain  # legged_gym's own Terrain is back once the env is built
    env.close()


@check
def episodes_are_scored() -> None:
    import torch

    env = make_go2_isaac(Go2IsaacParams(num_envs=4, terrain={"type": "rough"}, course="slope_down_20deg"))
    env.reset()
    actions = torch.zeros(4, env.num_actions)
    actions[:2, 1::3] = 1.0  # the stand-in walks forward on its thigh offsets (about 1 m/s); envs 2, 3 stand
    outcome: Dict[int, float] = {}
    for _ in range(int(env.max_episode_length) + 5):
        _, _, dones, extras = env.step(actions)
        if bool(dones.any()):
            for i, success in zip(dones.nonzero().flatten().tolist(), extras["episode"]["course_success"].tolist()):
                outcome.setdefault(i, success)
        if len(outcome) == 4:
            break
    assert outcome == {0: 1.0, 1: 1.0, 2: 0.0, 3: 0.0}, outcome
    env.close()


@check
def flat_layout_runs_a_course_too() -> None:
    env = make_go2_isaac(Go2IsaacParams(num_envs=2, course="stairs_down_10cm"))
    assert env.unwrapped.cfg.terrain.mesh_type == "trimesh" and env.observation_shapes["policy"] == (48,)
    assert env.reset()["policy"].shape == (2, 48)
    env.close()


@check
def plane_only_legged_robot_refuses_a_course() -> None:
    from fastembody_core import EnvError

    try:
        make_go2_isaac(Go2IsaacParams(num_envs=2, course="stairs_up_10cm"))
    except EnvError as exc:
        assert "env.params.course 'stairs_up_10cm' needs legged_gym's terrain code" in str(exc), str(exc)
    else:
        raise AssertionError("go2-isaac ran a course on a LeggedRobot without terrain code")



if __name__ == "__main__":
    PROBE.main(sys.argv[1:])

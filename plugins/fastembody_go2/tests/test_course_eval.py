"""Evaluation courses in go2-toy and go2-mujoco (the ``course`` param, contracts.COURSE_PARAM) and
``fastembody eval --courses`` on a go2-toy run, in go2-toy and in go2-mujoco."""
import mujoco  # noqa: F401  (the mujoco extra is installed by scripts/setup.sh: missing, this fails, never skips)
import pytest
import torch

from fastembody_core import ConfigError, RunContext
from fastembody_core.checkpoint import checkpoint_path, save_checkpoint
from fastembody_core.config import build_dataclass, experiment_from_dict, write_resolved
from fastembody_core.contracts import evaluation_courses
from fastembody_core.evaluation import evaluate_courses
from fastembody_core.pipeline import build_env_and_algorithm, make_context
from fastembody_go2.mujoco.config import Go2MujocoParams
from fastembody_go2.mujoco.env import Go2MujocoEnv
from fastembody_go2.terrain import COURSES, build_course
from fastembody_go2.toy.config import Go2ToyParams
from fastembody_go2.toy.env import Go2ToyEnv

STAIRS_TOP_M = 1.4  # ground of stairs_up_10cm at x = 5.5 m: 14 risers of 0.1 m


def toy(course, **kwargs):
    return Go2ToyEnv(Go2ToyParams(num_envs=3, compile=False, course=course, **kwargs), RunContext(seed=1))


def mujoco_env(course, **kwargs):
    return Go2MujocoEnv(Go2MujocoParams(num_envs=3, compile=False, course=course, **kwargs), RunContext(seed=1))


def test_both_envs_declare_the_courses():
    assert evaluation_courses(Go2ToyParams) == COURSES == evaluation_courses(Go2MujocoParams)
    with pytest.raises(ConfigError, match="course: expected one of"):
        build_dataclass(Go2ToyParams, {"course": "stairs"}, "env.params", "x.yaml")
    with pytest.raises(ConfigError, match="unknown course 'stairs'"):
        Go2MujocoParams(course="stairs")


@pytest.mark.parametrize("make", [toy, mujoco_env], ids=["go2-toy", "go2-mujoco"])
def test_a_course_is_its_ground_start_command_and_time_limit(make):
    env = make("stairs_up_10cm")
    course = build_course("stairs_up_10cm")
    try:
        assert torch.equal(env.terrain.heights.cpu(), course.heights)
        assert env.max_episode_length == 1000 and env.params.randomization.push_robots is False
        assert env.observation_shapes["critic"] == (56,)  # a flat run's layout: its policy loads
        assert torch.equal(env.commands, torch.tensor([[0.5, 0.0, 0.0]] * 3))
        assert env.task.heading_command if isinstance(env, Go2ToyEnv) else env.constants.heading_command
        assert torch.equal(env.heading, torch.zeros(3))  # the heading is held along the course (+x)
        base = env.base_pos if hasattr(env, "base_pos") and not callable(env.base_pos) else env.state.pos.t()
        assert torch.allclose(base[:, :2], torch.tensor([[1.0, 2.0]] * 3), atol=0.05)
    finally:
        env.close()
    rough = make("stairs_up_10cm", terrain={"type": "rough", "num_rows": 2, "num_cols": 2})
    assert rough.observation_shapes["critic"] == (56 + 187,)  # a rough run's layout
    rough.close()


def _move_forward(env, metres, lift):
    with torch.inference_mode():
        if isinstance(env, Go2ToyEnv):
            env.state.pos[0, 0] += metres
            env.state.pos[2, 0] += lift
        else:
            env.state[0, env.index.base_pos[0]] += metres
            env.state[0, env.index.base_pos[2]] += lift


@pytest.mark.parametrize("make", [toy, mujoco_env], ids=["go2-toy", "go2-mujoco"])
def test_crossing_ends_the_episode_as_a_success(make):
    env = make("stairs_up_10cm")
    try:
        _move_forward(env, 4.5, STAIRS_TOP_M)
        _, _, dones, extras = env.step(torch.zeros(3, 12))
        assert dones.tolist()[0] is True and extras["time_outs"].tolist()[0] is True
        ended = dones.nonzero().flatten().tolist()
        success = extras["episode"]["course_success"].tolist()
        assert success[ended.index(0)] == 1.0 and extras["episode"]["course_progress"][ended.index(0)] >= 4.0
        assert all(s == 0.0 for i, s in zip(ended, success) if i != 0)
    finally:
        env.close()


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    """A go2-toy run directory (flat ground) with an untrained PPO checkpoint."""
    run_dir = tmp_path_factory.mktemp("courses") / "run"
    experiment = experiment_from_dict({
        "name": "toy_for_courses", "seed": 3,
        "env": {"name": "go2-toy", "params": {"num_envs": 4, "compile": False}},
        "algorithm": {"name": "ppo", "params": {"actor_hidden_dims": [32], "critic_hidden_dims": [32]}},
        "trainer": {"name": "on-policy", "params": {"max_iterations": 1}},
    })
    write_resolved(experiment, run_dir)
    env, algorithm = build_env_and_algorithm(experiment, make_context(experiment))
    env.close()
    save_checkpoint(checkpoint_path(run_dir, 1), {"iteration": 1, "algorithm": "ppo",
                                                   "algorithm_state": algorithm.state_dict(),
                                                   "config": experiment.to_dict()})
    return run_dir


@pytest.mark.parametrize("env_name, courses", [(None, ["stairs_down_10cm", "discrete_obstacles_10cm"]),
                                                ("go2-mujoco", ["stairs_down_10cm"])])
def test_eval_courses_of_a_flat_run(toy_run, env_name, courses):
    result = evaluate_courses(toy_run, courses, episodes=2, env_name=env_name)
    assert list(result["courses"]) == courses
    assert result["env"] == (env_name or "go2-toy")
    for row in result["courses"].values():
        assert row["episodes"] == 2 and row["success"] == 0.0  # an untrained policy crosses nothing
        assert row["mean_progress_m"] < 4.0

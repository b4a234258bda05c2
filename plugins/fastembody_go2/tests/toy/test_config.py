"""go2-toy params: defaults from unitree_rl_gym, and named errors for bad values."""
import pytest

from fastembody_core import ConfigError

from fastembody_go2.task import DEFAULT_REWARD_SCALES
from fastembody_go2.task_params import CommandParams, RandomizationParams, RewardParams
from fastembody_go2.toy.config import Go2ToyParams


def test_defaults_follow_unitree_rl_gym():
    params = Go2ToyParams()
    assert params.num_envs == 4096 and params.episode_length_s == 20.0
    assert params.commands.lin_vel_x == (-1.0, 1.0) and params.commands.resampling_time_s == 10.0
    assert params.rewards.scales == DEFAULT_REWARD_SCALES
    assert params.randomization.friction_range == (0.5, 1.25)
    assert params.physics.kp == 20.0 and params.physics.kd == 0.5


def test_reward_scales_merge_over_the_defaults():
    rewards = RewardParams(scales={"tracking_lin_vel": 2.0, "orientation": -1.0})
    assert rewards.scales["tracking_lin_vel"] == 2.0 and rewards.scales["orientation"] == -1.0
    assert rewards.scales["dof_pos_limits"] == DEFAULT_REWARD_SCALES["dof_pos_limits"]


def test_unknown_reward_term_is_a_named_error():
    with pytest.raises(ConfigError, match="scales.tracking_lin_velocity: unknown reward term") as err:
        RewardParams(scales={"tracking_lin_velocity": 1.0})
    assert "tracking_lin_vel" in str(err.value)  # lists the known terms


@pytest.mark.parametrize("kwargs, key", [
    ({"lin_vel_x": (1.0, -1.0)}, "lin_vel_x"),
    ({"heading": (0.5, 0.1)}, "heading"),
    ({"resampling_time_s": 0.0}, "resampling_time_s"),
])
def test_invalid_command_ranges_are_named(kwargs, key):
    with pytest.raises(ConfigError, match=f"^{key}: "):
        CommandParams(**kwargs)


def test_invalid_randomisation_range_is_named():
    with pytest.raises(ConfigError, match="friction_range: min 1.5 > max 0.5"):
        RandomizationParams(friction_range=(1.5, 0.5))
    with pytest.raises(ConfigError, match="friction_range"):
        RandomizationParams(friction_range=(-0.5, 0.5))


@pytest.mark.parametrize("num_envs", [0, -3, 2.5, True])
def test_num_envs_must_be_a_positive_integer(num_envs):
    with pytest.raises(ConfigError, match="num_envs: must be an integer >= 1"):
        Go2ToyParams(num_envs=num_envs)


def test_nested_blocks_given_as_plain_dicts_are_validated():
    params = Go2ToyParams(commands={"lin_vel_x": [0.5, 1.0]}, rewards={"scales": {"feet_air_time": 2.0}})
    assert params.commands.lin_vel_x == (0.5, 1.0) and params.rewards.scales["feet_air_time"] == 2.0
    with pytest.raises(ConfigError, match="rewards: scales.bogus: unknown reward term"):
        Go2ToyParams(rewards={"scales": {"bogus": 1.0}})

"""The shared reward terms: feet_clearance (the others are exercised through the envs' tests)."""
import pytest
import torch

from fastembody_go2.rewards import LocomotionState, RewardShape, compute_rewards, feet_clearance
from fastembody_go2.task import DEFAULT_REWARD_SCALES, REWARD_TERMS
from fastembody_go2.task_params import RewardParams
from fastembody_core import ConfigError

SHAPE = RewardShape(tracking_sigma=0.25, base_height_target=0.25, feet_air_time_target=0.5, dt=0.02,
                    feet_clearance_target=0.1)


def state(clearance, speed, command=(0.5, 0.0, 0.0)):
    """Two envs of four feet; only what feet_clearance and compute_rewards read is meaningful."""
    n = len(clearance)
    zeros = torch.zeros(n, 12)
    return LocomotionState(
        base_lin_vel=torch.zeros(n, 3), base_ang_vel=torch.zeros(n, 3), projected_gravity=torch.zeros(n, 3),
        base_height=torch.zeros(n), commands=torch.tensor([command] * n), joint_pos=zeros, joint_vel=zeros,
        last_joint_vel=zeros, default_joint_pos=torch.zeros(12), soft_joint_lower=torch.zeros(12),
        soft_joint_upper=torch.zeros(12), torques=zeros, actions=zeros, last_actions=zeros,
        foot_contacts=torch.zeros(n, 4, dtype=torch.bool), first_contacts=torch.zeros(n, 4, dtype=torch.bool),
        feet_air_time=torch.zeros(n, 4), foot_speed_xy=torch.tensor(speed), collisions=torch.zeros(n),
        terminated=torch.zeros(n, dtype=torch.bool), foot_clearance=torch.tensor(clearance))


def test_feet_clearance_penalises_swinging_feet_away_from_the_target():
    s = state([[0.1, 0.1, 0.0, 0.0], [0.02, 0.3, 0.0, 0.0]], [[1.0, 1.0, 0.0, 0.0], [2.0, 0.5, 0.0, 0.0]])
    value = feet_clearance(s, SHAPE)
    # env 0: two swinging feet at the target, two standing (speed 0) on the ground: nothing
    # env 1: a fast foot 8 cm low and a slower one 20 cm high, weighted by tanh(2 |v|)
    expected = 0.08 ** 2 * torch.tanh(torch.tensor(4.0)) + 0.2 ** 2 * torch.tanh(torch.tensor(1.0))
    assert value.tolist() == pytest.approx([0.0, float(expected)], abs=1e-7)
    standing = state([[0.0] * 4] * 2, [[1.0] * 4] * 2, command=(0.05, 0.0, 0.3))  # no linear command
    assert feet_clearance(standing, SHAPE).tolist() == [0.0, 0.0]


def test_feet_clearance_is_off_by_default_and_scaled_like_every_term():
    assert "feet_clearance" in REWARD_TERMS and DEFAULT_REWARD_SCALES["feet_clearance"] == 0.0
    s = state([[0.0] * 4, [0.1] * 4], [[1.0] * 4] * 2)
    total, per_term = compute_rewards(s, SHAPE, ("feet_clearance",), (-2.0,), only_positive=False)
    assert per_term[:, 0].tolist() == pytest.approx([-2.0 * 0.02 * 4 * 0.01 * float(torch.tanh(torch.tensor(2.0))),
                                                     0.0], abs=1e-8)


def test_a_negative_clearance_target_is_a_named_config_error():
    with pytest.raises(ConfigError, match="feet_clearance_target"):
        RewardParams(feet_clearance_target=-0.1)

"""Go2 constants: joint orders and the index maps between legged_gym and the Unitree SDK."""
import subprocess
import sys

import torch

from fastembody_go2 import robot


def test_orders_and_maps_are_inverse_permutations():
    assert robot.JOINT_NAMES[:3] == ("FL_hip_joint", "FL_thigh_joint", "FL_calf_joint")
    assert robot.SDK_JOINT_NAMES[:3] == ("FR_hip_joint", "FR_thigh_joint", "FR_calf_joint")
    assert sorted(robot.SDK_FROM_LEGGED_GYM) == list(range(12))
    values = list(range(12))
    assert robot.from_sdk_order(robot.to_sdk_order(values)) == values
    # SDK motor 0 is FR_hip = legged_gym joint 3; legged_gym joint 0 (FL_hip) is SDK motor 3
    assert robot.SDK_FROM_LEGGED_GYM[0] == 3 and robot.LEGGED_GYM_FROM_SDK[0] == 3
    sdk_names = robot.to_sdk_order(robot.JOINT_NAMES)
    assert sdk_names == robot.SDK_JOINT_NAMES


def test_maps_work_on_tensors_along_the_last_axis():
    q = torch.tensor(robot.DEFAULT_JOINT_POS).repeat(5, 1)
    sdk = robot.to_sdk_order(q)
    assert sdk.shape == (5, 12)
    assert torch.equal(sdk[:, 0:3], q[:, 3:6])  # FR first in SDK order
    assert torch.equal(robot.from_sdk_order(sdk), q)


def test_constants_are_per_joint_and_consistent():
    for values in (robot.DEFAULT_JOINT_POS, robot.TORQUE_LIMITS, robot.JOINT_LOWER, robot.JOINT_UPPER,
                   robot.JOINT_INERTIA, robot.VELOCITY_LIMITS):
        assert len(values) == 12
    assert all(lo < q0 < hi for lo, q0, hi in zip(robot.JOINT_LOWER, robot.DEFAULT_JOINT_POS, robot.JOINT_UPPER))
    assert robot.TORQUE_LIMITS[2] == 35.55 and robot.TORQUE_LIMITS[1] == 23.7


def test_robot_module_is_torch_free():
    code = "import sys, fastembody_go2.robot, fastembody_go2.task, fastembody_go2.plugin; " \
           "import fastembody_go2.toy.config; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)

"""Go2 leg kinematics against the model's reference numbers and finite differences."""
import torch

from fastembody_go2 import robot
from fastembody_go2.kinematics import leg_geometry, leg_kinematics, quat_to_rotmat, rotate, rotate_inverse


def test_default_pose_feet_match_the_reference_model():
    q0 = torch.tensor(robot.DEFAULT_JOINT_POS).view(1, 4, 3)
    foot, knee, _ = leg_kinematics(q0, leg_geometry(torch.device("cpu")))
    # go2_model.md §2: front (0.176, ±0.173, -0.302), rear (-0.272, ±0.172, -0.292) (sphere centre 2 mm behind)
    expected = torch.tensor([[0.176, 0.173, -0.302], [0.176, -0.173, -0.302],
                             [-0.272, 0.172, -0.292], [-0.272, -0.172, -0.292]])
    assert (foot[0] - expected).abs().max() < 0.004
    assert abs(-foot[0, 0, 2].item() + robot.FOOT_RADIUS - robot.NOMINAL_BASE_HEIGHT) < 0.003
    assert torch.allclose((knee[0] - foot[0]).norm(dim=-1), torch.full((4,), robot.CALF_LENGTH), atol=1e-6)


def test_jacobian_matches_finite_differences():
    gen = torch.Generator().manual_seed(0)
    q = (torch.rand(16, 4, 3, generator=gen, dtype=torch.float64) - 0.5) * 3
    geo = leg_geometry(torch.device("cpu"), torch.float64)
    _, _, jac = leg_kinematics(q, geo)
    eps = 1e-6
    for j in range(3):
        dq = torch.zeros_like(q)
        dq[..., j] = eps
        plus, _, _ = leg_kinematics(q + dq, geo)
        minus, _, _ = leg_kinematics(q - dq, geo)
        assert (jac[..., j] - (plus - minus) / (2 * eps)).abs().max() < 1e-8


def test_rotation_helpers_are_inverse():
    gen = torch.Generator().manual_seed(1)
    quat = torch.randn(8, 4, generator=gen)
    quat = quat / quat.norm(dim=-1, keepdim=True)
    rot = quat_to_rotmat(quat)
    assert torch.allclose(rot @ rot.transpose(1, 2), torch.eye(3).expand(8, 3, 3), atol=1e-5)
    v = torch.randn(8, 4, 3, generator=gen)
    assert torch.allclose(rotate_inverse(rot, rotate(rot, v)), v, atol=1e-5)

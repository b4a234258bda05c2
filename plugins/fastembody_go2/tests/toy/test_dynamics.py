"""Physics sanity before any RL (go2_model.md §6.5): stand, drop, trot, energy, symmetry."""
import math

import pytest
import torch

from fastembody_go2 import robot
from fastembody_go2.toy.config import PhysicsParams
from fastembody_go2.toy.dynamics import BodyState, EnvDynamics, aos_fields, body_state, joints_to_soa
from fastembody_go2.toy.dynamics import mechanical_energy, model_constants, physics_step
from fastembody_go2.kinematics import quat_to_rotmat, roll_pitch_yaw

Q0 = torch.tensor(robot.DEFAULT_JOINT_POS)
MG = robot.TOTAL_MASS * robot.GRAVITY


def start(n=1, height=0.31, friction=1.0):
    """Robots at the default pose, CoM at ``height``, at rest."""
    quat = torch.zeros(n, 4)
    quat[:, 0] = 1.0
    pos = torch.zeros(n, 3)
    pos[:, 2] = height
    state = body_state(pos, quat, torch.zeros(n, 3), torch.zeros(n, 3), Q0.repeat(n, 1), torch.zeros(n, 12))
    dyn = EnvDynamics(torch.full((n,), friction), torch.full((n,), robot.TOTAL_MASS), torch.ones(n))
    return state, dyn


def step(state, dyn, m, targets, substeps):
    """physics_step with env-major targets [N, 12]; returns (state, env-major fields, forces [N, 4, 3])."""
    state, _, forces = physics_step(state, joints_to_soa(targets), dyn, m, substeps)
    return state, aos_fields(state), forces.permute(2, 1, 0)


def base_height(fields):
    rot = quat_to_rotmat(fields["quat"])
    return fields["pos"][:, 2] - (rot[:, 2, :] * torch.tensor(robot.COM_OFFSET)).sum(-1)


def test_zero_action_stands_for_20_s_with_the_expected_sag():
    state, dyn = start()
    m = model_constants(PhysicsParams(), torch.device("cpu"))
    heights, settled_xy = [], None
    for i in range(1000):  # 20 s of policy steps
        state, fields, forces = step(state, dyn, m, Q0.unsqueeze(0), 4)
        heights.append(base_height(fields).item())
        if i == 250:
            settled_xy = fields["pos"][0, :2].clone()
    # kp = 20 sags the nominal 0.324 m stance, as MuJoCo does (0.235-0.25 m there)
    assert 0.22 < heights[-1] < 0.28
    assert max(heights[500:]) - min(heights[500:]) < 1e-3  # at rest
    assert fields["pos"][0, :2].norm() < 0.08  # the landing from 5 cm shifts the base a little
    assert (fields["pos"][0, :2] - settled_xy).norm() < 1e-3  # then no drift for 15 s
    roll, pitch, _ = roll_pitch_yaw(quat_to_rotmat(fields["quat"]))
    assert abs(roll.item()) < 0.01 and abs(pitch.item()) < 0.05
    knee_error = (Q0[2] - fields["joint_pos"][0, 2]).item()
    assert 0.2 < knee_error < 0.45  # ~6 N·m knee load / kp 20


def test_drop_settles_with_the_feet_carrying_the_weight():
    state, dyn = start(height=0.40)
    m = model_constants(PhysicsParams(), torch.device("cpu"))
    peak = 0.0
    for _ in range(150):  # 3 s
        state, _, forces = step(state, dyn, m, Q0.unsqueeze(0), 4)
        peak = max(peak, forces[0, :, 2].sum().item())
    total = forces[0, :, 2].sum().item()
    assert abs(total - MG) / MG < 0.01
    assert peak > 1.2 * MG  # the landing was an impact
    assert forces[0, :, :2].sum(0).abs().max() < 0.5  # no net shear at rest (splayed legs push feet apart)
    assert (forces[0, :, 2] > 0.15 * MG).all()  # all four feet carry load


def trot(direction, kp=40.0, seconds=5.0, friction=1.0, freq=2.5, thigh=0.2, knee_lift=0.6):
    """Open-loop diagonal trot (FL+RR vs FR+RL); returns (mean vx, max |roll|/|pitch|)."""
    state, dyn = start(friction=friction)
    m = model_constants(PhysicsParams(kp=kp), torch.device("cpu"))
    phase_offset = torch.tensor([0.0, math.pi, math.pi, 0.0])
    tilt = 0.0
    for i in range(int(seconds / m.dt)):
        phase = direction * 2 * math.pi * freq * i * m.dt + phase_offset
        target = Q0.clone().view(4, 3)
        target[:, 1] += thigh * torch.cos(phase)
        target[:, 2] -= knee_lift * torch.sin(phase).clamp(min=0.0)
        state, fields, _ = step(state, dyn, m, target.view(1, 12), 1)
        roll, pitch, _ = roll_pitch_yaw(quat_to_rotmat(fields["quat"]))
        tilt = max(tilt, abs(roll.item()), abs(pitch.item()))
    return fields["pos"][0, 0].item() / seconds, tilt


@pytest.mark.parametrize("friction", [0.6, 1.0])
def test_open_loop_trot_moves_forward_and_reversed_phase_backward(friction):
    forward, tilt_f = trot(+1, friction=friction)
    backward, tilt_b = trot(-1, friction=friction)
    assert forward > 0.1, forward
    assert backward < -0.1, backward
    assert tilt_f < 0.5 and tilt_b < 0.5  # stays upright


def test_passive_energy_never_increases():
    """Fixed PD targets act as springs: kinetic + gravity + PD + contact energy only dissipates."""
    state, dyn = start(n=3, height=0.36)
    state = state._replace(lin_vel=torch.tensor([[0.0, 0.0, -0.5], [0.3, -0.2, 0.0], [0.0, 0.4, 0.2]]).t(),
                           ang_vel=torch.tensor([[0.0, 0.0, 0.0], [0.5, 0.0, 0.3], [-0.3, 0.6, 0.0]]).t())
    m = model_constants(PhysicsParams(joint_friction=0.0), torch.device("cpu"))
    target = joints_to_soa(Q0.repeat(3, 1))
    energy = [mechanical_energy(state, dyn, m, target)]
    for _ in range(600):  # 3 s in 5 ms steps
        state, _, _ = physics_step(state, target, dyn, m, 1)
        energy.append(mechanical_energy(state, dyn, m, target))
    energy = torch.stack(energy)  # [T, 3]
    assert (energy - energy[0]).max() < 1e-3  # never above the initial energy
    # the only per-step rises are the penalty contact's touchdown error, k (v dt)² / 2 ≈ 0.03 J per foot
    assert (energy[1:] - energy[:-1]).max() < 0.15
    assert (energy[-1] < energy[0] - 10.0).all()  # the landing dissipated


SWAP = [3, 4, 5, 0, 1, 2, 9, 10, 11, 6, 7, 8]  # FL<->FR, RL<->RR
SIGN = torch.tensor([-1.0, 1.0, 1.0] * 4)  # abduction flips


def mirror(state):
    f = aos_fields(state)
    return body_state(
        f["pos"] * torch.tensor([1.0, -1.0, 1.0]),
        f["quat"] * torch.tensor([1.0, -1.0, 1.0, -1.0]),
        f["lin_vel"] * torch.tensor([1.0, -1.0, 1.0]),
        f["ang_vel"] * torch.tensor([-1.0, 1.0, -1.0]),
        f["joint_pos"][:, SWAP] * SIGN,
        f["joint_vel"][:, SWAP] * SIGN,
        f["foot_anchor"][:, [1, 0, 3, 2]] * torch.tensor([1.0, -1.0]),
    )


def test_left_right_mirror_symmetry():
    gen = torch.Generator().manual_seed(0)
    quat = torch.zeros(4, 4)
    quat[:, 0] = 1.0
    pos = torch.zeros(4, 3)
    pos[:, 2] = 0.33
    state = body_state(pos, quat, 0.3 * torch.randn(4, 3, generator=gen), 0.3 * torch.randn(4, 3, generator=gen),
                       Q0 + 0.1 * torch.randn(4, 12, generator=gen), torch.zeros(4, 12))
    _, dyn = start(n=4)
    m = model_constants(PhysicsParams(), torch.device("cpu"))
    mirrored = mirror(state)
    for _ in range(50):  # 1 s of policy steps with random targets
        target = Q0 + 0.2 * torch.randn(4, 12, generator=gen)
        state, _, _ = step(state, dyn, m, target, 4)
        mirrored, _, _ = step(mirrored, dyn, m, target[:, SWAP] * SIGN, 4)
    expected = mirror(state)
    for name, a, b in zip(BodyState._fields, expected, mirrored):
        assert torch.allclose(a, b, atol=2e-3), name
    assert state.pos[1].abs().max() > 0.01  # the test moved sideways, so it checks something

"""go2-toy feet on a height field: the contact matches the shared surface model, risers stop feet, flat tops are flat."""
import dataclasses

import pytest
import torch

from fastembody_go2 import robot
from fastembody_go2.kinematics import leg_geometry, leg_kinematics, quat_to_rotmat
from fastembody_go2.terrain import build_course, column_contacts, ground_height
from fastembody_go2.toy.config import PhysicsParams
from fastembody_go2.toy.dynamics import EnvDynamics, aos_fields, body_state, joints_to_soa, model_constants
from fastembody_go2.toy.dynamics import physics_step
from fastembody_go2.toy.terrain_contact import column_contacts_soa, ground_at, terrain_foot_contact

Q0 = torch.tensor(robot.DEFAULT_JOINT_POS)
R = robot.FOOT_RADIUS


def test_soa_contacts_equal_the_shared_column_contacts():
    terrain = build_course("discrete_obstacles_10cm")
    gen = torch.Generator().manual_seed(0)
    faces = torch.stack((torch.randint(15, 75, (4, 4000), generator=gen), torch.randint(0, 40, (4, 4000), generator=gen),
                         torch.zeros(4, 4000, dtype=torch.long)), -1) * 0.1  # cell faces on the obstacle strip
    centre = faces + torch.rand(4, 4000, 3, generator=gen) * 0.06 - 0.03
    centre[..., 2] = ground_height(terrain, centre[..., 0], centre[..., 1]) + 0.15 * torch.rand(4, 4000, generator=gen)
    depth, normal = column_contacts(terrain, centre, R)  # [4, N, 5], [4, N, 5, 3]
    depths, normals = column_contacts_soa(terrain, tuple(centre.unbind(-1)), R)
    assert torch.equal(depths[0], depth[..., 0])
    upper_x = centre[..., 0] - terrain.corner - torch.floor((centre[..., 0] - terrain.corner) / 0.1) * 0.1 > 0.05
    upper_y = centre[..., 1] - terrain.corner - torch.floor((centre[..., 1] - terrain.corner) / 0.1) * 0.1 > 0.05
    near_x = torch.where(upper_x, depth[..., 1], depth[..., 2])
    near_y = torch.where(upper_y, depth[..., 3], depth[..., 4])
    assert torch.allclose(depths[1], near_x, atol=1e-6) and torch.allclose(depths[2], near_y, atol=1e-6)
    assert float(torch.where(upper_x, depth[..., 2], depth[..., 1]).max()) == 0.0  # the far faces never reach
    assert (near_x > 0).float().mean() > 0.005 and (near_y > 0).float().mean() > 0.005  # 10 cm obstacle sides are hit
    summed = (depth.unsqueeze(-1) * normal).sum(-2)
    soa = torch.stack([sum(d * n[k] for d, n in zip(depths, normals)) for k in range(3)], -1)
    assert torch.allclose(soa, summed, atol=1e-6)
    xy = centre[..., :2] + torch.tensor([-3.3, 5.0])  # off the map too
    assert torch.equal(ground_at(terrain, xy[..., 0], xy[..., 1]), ground_height(terrain, xy[..., 0], xy[..., 1]))


def test_a_foot_pushed_into_a_riser_is_stopped():
    """A 0.3 kg foot on the lower tread, pushed with 80 N towards the 15 cm riser at x = 1.5 m, for 1 s."""
    terrain = build_course("stairs_up_15cm")
    pos = torch.tensor([1.40, 2.05, R - 0.002])
    vel = torch.zeros(3)
    anchor = (pos[0:1].clone(), pos[1:2].clone())
    push, mass, dt = torch.tensor([80.0, 0.0, -0.3 * 9.81]), 0.3, 0.001
    furthest = 0.0
    for _ in range(1000):
        contact = terrain_foot_contact(tuple(pos[:, None].unbind(0)), tuple(vel[:, None].unbind(0)), anchor,
                                       torch.tensor([0.1]), 1e4, 150.0, 5e3, 50.0, R, terrain)
        force = torch.cat(contact.force)
        anchor = contact.anchor
        vel = vel + dt * (push + force) / mass
        pos = pos + dt * vel
        furthest = max(furthest, float(pos[0]))
    assert furthest < 1.5  # the centre never crossed the riser line
    assert 1.5 - R < float(pos[0]) < 1.5 - R + 0.01  # resting against the riser, 8 mm in (80 N / 1e4 N/m)
    assert float(force[0]) == pytest.approx(-80.0, rel=0.02)  # the wall pushes back horizontally
    assert float(pos[2]) < 0.05 and vel.norm() < 1e-3  # still on the lower tread, at rest


def stance(x, terrain, yaw=0.0):
    """One robot at the default pose, base at ``x`` (y = 2 m), feet 1 cm above the highest ground under them."""
    quat = torch.tensor([[torch.cos(torch.tensor(yaw / 2)), 0.0, 0.0, torch.sin(torch.tensor(yaw / 2))]])
    foot_b, _, _ = leg_kinematics(Q0.view(1, 4, 3), leg_geometry(torch.device("cpu")))
    com = torch.tensor([[x, 2.0, 0.0]]) + quat_to_rotmat(quat)[0] @ torch.tensor(robot.COM_OFFSET)
    feet = com + (foot_b[0] - torch.tensor(robot.COM_OFFSET)) @ quat_to_rotmat(quat)[0].t()
    ground = ground_height(terrain, feet[:, 0], feet[:, 1]).max()
    com[0, 2] = ground + R + 0.01 - (feet[:, 2] - com[0, 2]).min()
    state = body_state(com, quat, torch.zeros(1, 3), torch.zeros(1, 3), Q0.view(1, 12), torch.zeros(1, 12))
    return state, EnvDynamics(torch.ones(1), torch.full((1,), robot.TOTAL_MASS), torch.ones(1))


def feet_world(state):
    f = aos_fields(state)
    foot_b, _, _ = leg_kinematics(f["joint_pos"].view(-1, 4, 3), leg_geometry(torch.device("cpu")))
    rel = foot_b - torch.tensor(robot.COM_OFFSET)
    return f["pos"][:, None, :] + rel @ quat_to_rotmat(f["quat"]).transpose(1, 2)


@pytest.mark.parametrize("on_stairs", [True, False])
def test_front_feet_swung_into_a_riser_stay_behind_it(on_stairs):
    """A base held in place (huge mass, no gravity), front feet 1 cm above the ground and 6 cm before a 15 cm
    riser, front thighs driven 0.7 rad forward (the feet swing ~19 cm ahead, below the step's top): the riser stops
    them; on flat ground the same swing passes the riser line."""
    stairs = build_course("stairs_up_15cm")
    terrain = stairs if on_stairs else dataclasses.replace(stairs, heights=torch.zeros_like(stairs.heights))
    state, dyn = stance(1.5 - 0.06 - 0.19, terrain)  # front feet ~6 cm before the riser, 1 cm up
    dyn = dyn._replace(mass=torch.full((1,), 1e6))
    m = model_constants(PhysicsParams(), torch.device("cpu"))._replace(gravity=0.0, inertia=(1e6, 1e6, 1e6))
    target = Q0.clone().view(4, 3)
    target[:2, 1] -= 0.7  # FL, FR thighs forward
    furthest, highest = 0.0, 0.0
    for _ in range(50):  # 1 s
        state, _, _ = physics_step(state, joints_to_soa(target.view(1, 12)), dyn, m, 4, terrain)
        feet = feet_world(state)[0, :2]
        furthest, highest = max(furthest, float(feet[:, 0].max())), max(highest, float(feet[:, 2].max()))
    assert highest < 0.15  # the swing stays below the step's top
    if on_stairs:
        assert furthest < 1.5 - R + 0.02  # at most a 2 cm spring compression into the riser
        assert float(feet[:, 0].max()) > 1.5 - R - 0.01  # and the feet end pressed against it, at rest
        assert float(state.joint_vel[:, :2].abs().max()) < 0.05
    else:
        assert furthest > 1.55  # the same swing crosses the line without the riser


def test_standing_on_a_flat_top_matches_flat_ground():
    """A column top is flat ground at its height: standing 2 s on a 1 m plateau ends where flat ground does."""
    plateau = dataclasses.replace(build_course("stairs_up_10cm"),
                                  heights=torch.ones_like(build_course("stairs_up_10cm").heights))
    m = model_constants(PhysicsParams(), torch.device("cpu"))
    ends = []
    for terrain in (plateau, None):
        state, dyn = stance(5.0, plateau)
        if terrain is None:
            state = state._replace(pos=state.pos - torch.tensor([[0.0], [0.0], [1.0]]))
        for _ in range(100):
            state, _, forces = physics_step(state, joints_to_soa(Q0.view(1, 12)), dyn, m, 4,
                                            *(() if terrain is None else (terrain,)))
        ends.append((state.pos[2] - (1.0 if terrain is not None else 0.0), state.joint_pos, forces[2].sum()))
    (z_top, q_top, f_top), (z_flat, q_flat, f_flat) = ends
    assert float((z_top - z_flat).abs()) < 1e-4 and float((q_top - q_flat).abs().max()) < 1e-4
    assert float(f_top) == pytest.approx(robot.TOTAL_MASS * robot.GRAVITY, rel=0.01)

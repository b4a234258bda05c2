"""go2-toy foot contact against a height field (rough terrain): the terrain branch of ``dynamics._substep``.

The ground is the shared surface model of ``fastembody_go2.terrain.field``: bilinear between cell
centres where neighbours differ by at most the slope threshold, vertical risers where they differ by more. Each
foot sphere gets the penalty contacts of ``column_contacts`` (here in structure-of-arrays form,
``column_contacts_soa``): the walking surface under it (normal: the surface normal there) and the risers of higher
neighbours (normal horizontal, or at the nosing edge tilted), each a spring-damper ``max(0, k d - c v.n)`` along
its own normal, so a foot pushed into a riser is pushed back horizontally. Friction is the flat model's
stick-slip anchor spring: in the plane of the walking surface whenever the foot touches it (cone ``mu`` times that
contact's normal force), so on a level tread this is exactly the flat-ground model at the tread's height; a foot
touching only a riser or a nosing gets it in the plane normal to that contact (cone ``mu`` times its normal
force). Risers are frictionless while the foot stands on the ground (switching the friction plane with the ratio
of two contact depths made a foot in a corner chatter).

Riser springs are explicit like every contact spring; their damping and stiffness also enter the joints' implicit
diagonal (``walls``; the tread's damping already does, as on flat ground), so a light leg pressed into a riser
stays stable at dt = 5 ms instead of chattering.

The ground contact's depth is capped at ``MAX_TOP_DEPTH_RADII`` foot radii: a foot whose centre crossed a riser
below the step's top would otherwise be launched by the whole step height at once (a 10 cm step: ~1000 N in one
substep).
"""
from typing import NamedTuple, Tuple

import torch

from ..kinematics import Vec3
from ..terrain.field import Terrain, ground_patch

MAX_TOP_DEPTH_RADII = 2.0
"""Cap of the ground (own surface) contact depth, in foot radii (risers and flat ground never reach it)."""


def ground_at(terrain: Terrain, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``terrain.field.ground_height`` with int32 cell indices (the same values; compiled, int64 index maths made
    the 187-point scan ~3x slower). Requires fewer than 2**31 cells (``TerrainParams.max_cells`` is far below)."""
    rows, cols = terrain.heights.shape
    inv = 1.0 / terrain.horizontal_scale
    i = ((x - terrain.corner) * inv).to(torch.int32).clamp(0, rows - 1)
    j = ((y - terrain.corner) * inv).to(torch.int32).clamp(0, cols - 1)
    return terrain.heights.reshape(-1)[i * cols + j]


class FootContact(NamedTuple):
    """The contact of every foot, each component ``[4, N]``."""

    force: Vec3
    """World force on the foot [N] (normal + friction)."""
    normal: Vec3
    """Unit normal of the friction plane: the walking surface's (or touching nothing: also the surface's below the
    foot), else the depth-weighted riser/nosing normal."""
    pressed: torch.Tensor
    """bool: a normal force is positive."""
    anchor: Tuple[torch.Tensor, torch.Tensor]
    """New world xy of the friction anchors."""
    walls: Tuple[Tuple[torch.Tensor, Vec3], ...]
    """(bool: pushing, unit normal) of the riser/nosing contacts, for the joints' implicit diagonal."""


def column_contacts_soa(terrain: Terrain, foot_w: Vec3, radius: float
                        ) -> Tuple[Tuple[torch.Tensor, ...], Tuple[Vec3, ...]]:
    """``terrain.field.column_contacts`` in structure-of-arrays form: (3 depths, 3 unit normals), each component
    shaped like ``foot_w``'s: the walking surface under the sphere, then the nearer x face and the nearer y face
    where that neighbour is higher by more than the riser threshold.

    The same surface model and arithmetic, with two shortcuts that change no force: a sphere of radius < hs / 2
    reaches at most the nearer face on each axis (the farther face's depth is always 0), and nothing is stacked
    into ``[..., 5, 3]`` tensors, so a compiled substep stays one loop over the feet (tested against
    ``column_contacts``)."""
    px, py, pz = foot_w
    g = ground_patch(terrain, px, py)
    n_z = torch.rsqrt(1.0 + g.dz_dx * g.dz_dx + g.dz_dy * g.dz_dy)
    zero = torch.zeros_like(pz)
    depths = [(radius - (pz - g.z) * n_z).clamp(min=0.0)]
    normals = [(-g.dz_dx * n_z, -g.dz_dy * n_z, n_z)]
    riser = terrain.riser_min
    for axis in (0, 1):
        along, face, high, up = (px, g.face_x, g.next_x, g.up_x) if axis == 0 else (py, g.face_y, g.next_y, g.up_y)
        d_along = along - face  # <= 0 below an upper face, >= 0 above a lower one
        d_up = (pz - high).clamp(min=0.0)
        dist = torch.sqrt(d_along * d_along + d_up * d_up)
        safe = dist > 1e-9
        inv = 1.0 / dist.clamp(min=1e-9)
        n_along = torch.where(safe, d_along * inv, torch.where(up, zero - 1.0, zero + 1.0))
        n_up = torch.where(safe, d_up * inv, zero)
        depths.append(torch.where(high > g.own + riser, (radius - dist).clamp(min=0.0), zero))
        normals.append((n_along, zero, n_up) if axis == 0 else (zero, n_along, n_up))
    return tuple(depths), tuple(normals)


def terrain_foot_contact(foot_w: Vec3, foot_vel: Vec3, anchor: Tuple[torch.Tensor, torch.Tensor],
                         friction: torch.Tensor, stiffness: float, damping: float, tangential_stiffness: float,
                         tangential_damping: float, radius: float, terrain: Terrain) -> FootContact:
    """Forces of the foot spheres at ``foot_w`` (world, ``[4, N]`` each) moving at ``foot_vel`` on ``terrain``."""
    depths, normals = column_contacts_soa(terrain, foot_w, radius)
    depths = (depths[0].clamp(max=MAX_TOP_DEPTH_RADII * radius),) + depths[1:]
    pushes = []
    for depth, normal in zip(depths, normals):  # spring-dampers along each contact's normal
        along = foot_vel[0] * normal[0] + foot_vel[1] * normal[1] + foot_vel[2] * normal[2]
        pushes.append((stiffness * depth - damping * along).clamp(min=0.0) * (depth > 0))
    wall_force = [sum(p * n[k] for p, n in zip(pushes[1:], normals[1:])) for k in range(3)]
    force_n = tuple(wall_force[k] + pushes[0] * normals[0][k] for k in range(3))
    floor = depths[0] > 0
    on_wall = (depths[1] > 0) | (depths[2] > 0)
    touching = floor | on_wall
    # friction plane: the tread when the foot touches it (the flat-ground model at the column's height), else the
    # plane normal to the depth-weighted riser/nosing normal; the cone is mu times that contact's normal force
    wx, wy, wz = (sum(d * n[k] for d, n in zip(depths[1:], normals[1:])) for k in range(3))
    inv = 1.0 / torch.sqrt(wx * wx + wy * wy + wz * wz).clamp(min=1e-12)
    ground = floor | ~on_wall
    nx = torch.where(ground, normals[0][0], wx * inv)
    ny = torch.where(ground, normals[0][1], wy * inv)
    nz = torch.where(ground, normals[0][2], wz * inv)
    wall_push = torch.sqrt(wall_force[0] * wall_force[0] + wall_force[1] * wall_force[1]
                           + wall_force[2] * wall_force[2])
    max_tangential = friction * torch.where(floor, pushes[0], wall_push)

    anchor_x = torch.where(touching, anchor[0], foot_w[0])
    anchor_y = torch.where(touching, anchor[1], foot_w[1])
    stretch_x, stretch_y = foot_w[0] - anchor_x, foot_w[1] - anchor_y
    s_n = stretch_x * nx + stretch_y * ny
    stretch_t = (stretch_x - s_n * nx, stretch_y - s_n * ny, -s_n * nz)
    v_n = foot_vel[0] * nx + foot_vel[1] * ny + foot_vel[2] * nz
    vel_t = (foot_vel[0] - v_n * nx, foot_vel[1] - v_n * ny, foot_vel[2] - v_n * nz)
    tangential = [-tangential_stiffness * st - tangential_damping * vt for st, vt in zip(stretch_t, vel_t)]
    size = torch.sqrt(tangential[0] * tangential[0] + tangential[1] * tangential[1] + tangential[2] * tangential[2])
    ratio = torch.where(size > max_tangential, max_tangential / size.clamp(min=1e-9), torch.ones_like(size))
    force = (force_n[0] + tangential[0] * ratio, force_n[1] + tangential[1] * ratio, force_n[2] + tangential[2] * ratio)
    # slip (elasto-plastic, as on flat ground): scale the stretch so the spring alone stays inside the cone
    stretch = torch.sqrt(stretch_t[0] * stretch_t[0] + stretch_t[1] * stretch_t[1] + stretch_t[2] * stretch_t[2])
    max_stretch = max_tangential / tangential_stiffness
    keep = torch.where(stretch > max_stretch, max_stretch / stretch.clamp(min=1e-9), torch.ones_like(stretch))
    new_anchor = (foot_w[0] - stretch_x * keep, foot_w[1] - stretch_y * keep)
    walls = tuple((push > 0, normal) for push, normal in zip(pushes[1:], normals[1:]))
    pressed = (pushes[0] > 0) | (wall_push > 0)
    return FootContact(force, (nx, ny, nz), pressed, new_anchor, walls)

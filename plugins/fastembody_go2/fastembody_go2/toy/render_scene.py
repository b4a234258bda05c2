"""What a go2-toy frame shows, as geometry (no pixels): the robot's world-frame points from its pose and joint angles
(through :mod:`..kinematics`), the scene of one env (contacts, command, velocity, time), the tracking camera, the
ground's checker tiles and arrows, and an optional height field. :mod:`.render` draws it."""
import math
from typing import Any, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch

from fastembody_core import EnvError

from .. import robot
from ..kinematics import leg_geometry, leg_kinematics, leg_kinematics_components, quat_to_rotmat

ARROW_SCALE = 0.6
"""Metres of arrow per m/s (and metres of arc radius for the yaw-rate command)."""
TILE_SIZE = 0.5
FOOT_DRAW_RADIUS = 0.03
"""Drawn a little larger than the 0.022 m foot sphere, so contact colours read at video size."""
THIGH_THICKNESS, CALF_THICKNESS = 0.034, 0.020
HEAD_HALF_SIZES = (0.05, 0.05, 0.048)
HEAD_BOX_CENTRE = (0.238, 0.0, 0.0)
"""The head drawn as a box in front of the trunk (the model's head is a cylinder and a sphere there)."""


class HeightField(NamedTuple):
    """Ground heights ``heights[i, j]``: the flat top of the column (cell) centred at world
    ``(origin[0] + i * horizontal_scale, origin[1] + j * horizontal_scale)``, as go2-toy's riser model has it."""

    heights: np.ndarray
    horizontal_scale: float
    origin: Tuple[float, float] = (0.0, 0.0)

    def _index(self, x: np.ndarray, y: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        h = self.heights
        i = np.floor((np.asarray(x, dtype=np.float64) - self.origin[0]) / self.horizontal_scale + 0.5)
        j = np.floor((np.asarray(y, dtype=np.float64) - self.origin[1]) / self.horizontal_scale + 0.5)
        return np.clip(i, 0, h.shape[0] - 1).astype(int), np.clip(j, 0, h.shape[1] - 1).astype(int)

    def height_at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Column top under world ``x, y`` (piecewise constant, clamped at the field's border)."""
        i, j = self._index(x, y)
        return np.asarray(self.heights, dtype=np.float64)[i, j]

    def smooth_height_at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Bilinear height through the cell centres at world ``x, y`` (clamped): the far ground and the camera."""
        h = np.asarray(self.heights, dtype=np.float64)
        fx = np.clip((np.asarray(x, dtype=np.float64) - self.origin[0]) / self.horizontal_scale, 0, h.shape[0] - 1)
        fy = np.clip((np.asarray(y, dtype=np.float64) - self.origin[1]) / self.horizontal_scale, 0, h.shape[1] - 1)
        i0 = np.minimum(np.floor(fx).astype(int), max(h.shape[0] - 2, 0))
        j0 = np.minimum(np.floor(fy).astype(int), max(h.shape[1] - 2, 0))
        i1, j1 = np.minimum(i0 + 1, h.shape[0] - 1), np.minimum(j0 + 1, h.shape[1] - 1)
        tx, ty = fx - i0, fy - j0
        return ((1 - tx) * (1 - ty) * h[i0, j0] + tx * (1 - ty) * h[i1, j0] + (1 - tx) * ty * h[i0, j1]
                + tx * ty * h[i1, j1])


def ground_height(terrain: Optional[HeightField], x: Any, y: Any, smooth: bool = False) -> np.ndarray:
    """Ground z at world ``x, y``: 0 without a terrain, else the column top (``smooth``: bilinear)."""
    x = np.asarray(x, dtype=np.float64)
    if terrain is None:
        return np.zeros_like(x)
    lookup = terrain.smooth_height_at if smooth else terrain.height_at
    return lookup(x, np.asarray(y, dtype=np.float64))


class ColumnGround(NamedTuple):
    """The ground near the robot as flat-topped columns: tread tops and vertical risers, so stairs and obstacles
    are drawn as they are simulated (not as ramps)."""

    quads: np.ndarray
    """[Q, 4, 3] world corners: tops (equal heights in one row of one checker tile merged), then risers."""
    parity: np.ndarray
    """[Q] checker parity of each quad's tile (0 / 1)."""
    riser: np.ndarray
    """[Q] True for a vertical face."""
    tiles: np.ndarray
    """[T, 2] integer (ix, iy) of the checker tiles covered here (the far ground skips them)."""


def column_ground(terrain: HeightField, centre_xy: Sequence[float], half_extent: float,
                  tile: float = TILE_SIZE) -> ColumnGround:
    """Cells of ``terrain`` whose centres lie in the checker tiles within ``half_extent`` of ``centre_xy``."""
    h, hs = np.asarray(terrain.heights, dtype=np.float64), float(terrain.horizontal_scale)
    lo_tile = np.floor((np.asarray(centre_xy, dtype=np.float64) - half_extent) / tile).astype(int)
    hi_tile = np.floor((np.asarray(centre_xy, dtype=np.float64) + half_extent) / tile).astype(int)
    first = np.ceil((lo_tile * tile - np.asarray(terrain.origin)) / hs - 1e-9).astype(int)
    last = np.ceil(((hi_tile + 1) * tile - np.asarray(terrain.origin)) / hs - 1e-9).astype(int) - 1
    first, last = np.maximum(first, 0), np.minimum(last, np.asarray(h.shape) - 1)
    empty = ColumnGround(np.zeros((0, 4, 3)), np.zeros(0, int), np.zeros(0, bool), np.zeros((0, 2), int))
    if (last < first).any():
        return empty
    grid = h[first[0]:last[0] + 1, first[1]:last[1] + 1]
    xc = terrain.origin[0] + np.arange(first[0], last[0] + 1) * hs
    yc = terrain.origin[1] + np.arange(first[1], last[1] + 1) * hs
    ti, tj = np.floor(xc / tile + 1e-9).astype(int), np.floor(yc / tile + 1e-9).astype(int)
    rows, cols = grid.shape
    # tops: runs along y of equal height inside one checker tile
    starts = np.ones_like(grid, dtype=bool)
    starts[:, 1:] = (grid[:, 1:] != grid[:, :-1]) | (tj[1:] != tj[:-1])[None]
    begin = np.flatnonzero(starts.ravel())
    end = np.append(begin[1:], rows * cols) - 1
    r, c0, c1 = begin // cols, begin % cols, end % cols
    x0, x1, y0, y1, z = xc[r] - hs / 2, xc[r] + hs / 2, yc[c0] - hs / 2, yc[c1] + hs / 2, grid[r, c0]
    tops = np.stack([np.stack(p, -1) for p in ((x0, y0, z), (x1, y0, z), (x1, y1, z), (x0, y1, z))], axis=1)
    quads, parity = [tops], [(ti[r] + tj[c0]) % 2]
    for axis in (0, 1):  # risers between neighbours along x (axis 0), then along y
        g = grid if axis == 0 else grid.T
        a, b = g[:-1], g[1:]
        active = a != b
        same = np.zeros_like(active)
        same[:, 1:] = active[:, 1:] & active[:, :-1] & (a[:, 1:] == a[:, :-1]) & (b[:, 1:] == b[:, :-1])
        begin = np.flatnonzero((active & ~same).ravel())
        stop = np.flatnonzero((active & ~np.concatenate([same[:, 1:], np.zeros_like(same[:, :1])], 1)).ravel())
        k, s0, s1 = begin // g.shape[1], begin % g.shape[1], stop % g.shape[1]
        along, across = (xc, yc) if axis == 0 else (yc, xc)
        at = along[k] + hs / 2
        w0, w1 = across[s0] - hs / 2, across[s1] + hs / 2
        za, zb = a[k, s0], b[k, s0]
        corners = ((at, w0, za), (at, w1, za), (at, w1, zb), (at, w0, zb))
        if axis == 1:
            corners = tuple((q[1], q[0], q[2]) for q in corners)
        quads.append(np.stack([np.stack(p, -1) for p in corners], axis=1))
        owner = (ti[k] + tj[s0]) % 2 if axis == 0 else (ti[s0] + tj[k]) % 2
        parity.append(owner)
    flags = [np.zeros(len(tops), bool)] + [np.ones(len(q), bool) for q in quads[1:]]
    covered = np.stack(np.meshgrid(np.unique(ti), np.unique(tj), indexing="ij"), -1).reshape(-1, 2)
    return ColumnGround(np.concatenate(quads), np.concatenate(parity).astype(int), np.concatenate(flags), covered)


# -- geometry (pure) -----------------------------------------------------------------------------------------
class RobotPoints(NamedTuple):
    """World-frame points of one robot (metres); legs in order FL, FR, RL, RR."""

    trunk: np.ndarray
    """[8, 3] trunk box corners; corner k has signs (x, y, z) = bits (k>>2, k>>1, k) of k: 0 -> -, 1 -> +."""
    rotation: np.ndarray
    """[3, 3] body -> world."""
    base: np.ndarray
    """[3] base-frame origin (trunk centre)."""
    head: np.ndarray
    """[8, 3] head box corners (same order as ``trunk``)."""
    hips: np.ndarray
    """[4, 3] abduction joints."""
    thighs: np.ndarray
    """[4, 3] thigh joints (the hip link's end)."""
    knees: np.ndarray
    """[4, 3]."""
    feet: np.ndarray
    """[4, 3] foot sphere centres."""


_CORNER_SIGNS = np.array([[(k >> 2) & 1, (k >> 1) & 1, k & 1] for k in range(8)], dtype=np.float64) * 2 - 1
_BOX_FACES = ((1, 3, 7, 5), (0, 4, 6, 2), (2, 6, 7, 3), (0, 1, 5, 4), (4, 5, 7, 6), (0, 2, 3, 1))
"""Corner indices of the faces +z, -z, +y, -y, +x, -x (counter-clockwise seen from outside)."""
_FACE_NORMALS = np.array([[0, 0, 1], [0, 0, -1], [0, 1, 0], [0, -1, 0], [1, 0, 0], [-1, 0, 0]], dtype=np.float64)


def robot_points(pos: Any, quat: Any, joint_pos: Any) -> RobotPoints:
    """Points to draw of one robot: CoM position ``[3]``, quaternion (w, x, y, z) ``[4]`` and joint angles
    ``[12]`` in legged_gym order (the toy env's ``BodyState`` of one env)."""
    q = torch.as_tensor(np.asarray(joint_pos, dtype=np.float64)).view(1, 4, 3)
    geo = leg_geometry(torch.device("cpu"), torch.float64)
    foot, knee, _ = leg_kinematics(q, geo)
    abd, thigh, calf = q.unbind(-1)
    # with zero link lengths the "foot" of the leg kinematics is the thigh joint: the hip link's end
    thigh_joint, _, _ = leg_kinematics_components(abd, thigh, calf, geo.hip_offset[:, 0], geo.hip_offset[:, 1],
                                                  geo.side * geo.thigh_offset_y, 0.0, 0.0)
    rot = quat_to_rotmat(torch.as_tensor(np.asarray(quat, dtype=np.float64)).view(1, 4))[0].numpy()
    base = np.asarray(pos, dtype=np.float64).reshape(3) - rot @ np.asarray(robot.COM_OFFSET)

    def world(points_b: np.ndarray) -> np.ndarray:
        return base + points_b @ rot.T

    return RobotPoints(
        trunk=world(_CORNER_SIGNS * np.asarray(robot.TRUNK_HALF_SIZES)),
        rotation=rot,
        base=base,
        head=world(np.asarray(HEAD_BOX_CENTRE) + _CORNER_SIGNS * np.asarray(HEAD_HALF_SIZES)),
        hips=world(geo.hip_offset.numpy()),
        thighs=world(torch.stack(thigh_joint, -1)[0].numpy()),
        knees=world(knee[0].numpy()),
        feet=world(foot[0].numpy()),
    )


class Scene(NamedTuple):
    """Everything one frame shows of one env."""

    robot: RobotPoints
    contacts: np.ndarray
    """[4] bool, feet touching the ground."""
    command: np.ndarray
    """[3] (vx, vy, yaw rate), body frame."""
    velocity: np.ndarray
    """[3] world linear velocity of the CoM."""
    time: float
    env_id: int = 0


def yaw_of(rot: np.ndarray) -> float:
    return float(math.atan2(rot[1, 0], rot[0, 0]))


def scene_from_env(env: Any, env_id: int = 0) -> Scene:
    """The :class:`Scene` of env ``env_id`` of a go2-toy env (reads its state; changes nothing)."""
    num_envs = int(env.num_envs)
    if not 0 <= int(env_id) < num_envs:
        raise EnvError(f"go2-toy: render env_id must be in [0, {num_envs}), got {env_id}")
    i = int(env_id)
    s = env.state

    def col(t: torch.Tensor) -> np.ndarray:
        return t[..., i].detach().to("cpu", torch.float64).numpy()

    joint_pos = col(s.joint_pos).T.reshape(12)  # [3 joints, 4 legs] -> legged_gym order
    return Scene(
        robot=robot_points(col(s.pos), col(s.quat), joint_pos),
        contacts=env.last_contacts[i].detach().cpu().numpy().astype(bool),
        command=env.commands[i].detach().to("cpu", torch.float64).numpy(),
        velocity=col(s.lin_vel),
        time=float(env.episode_length_buf[i]) * float(env.step_dt),
        env_id=i,
    )


# -- camera (pure) -------------------------------------------------------------------------------------------
class Camera(NamedTuple):
    """A pinhole camera: ``pixel = centre + focal * (x, -y) / depth`` in its (right, up, forward) frame."""

    position: np.ndarray
    right: np.ndarray
    up: np.ndarray
    forward: np.ndarray
    focal: float
    width: int
    height: int

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """World points ``[..., 3]`` -> camera coordinates ``[..., 3]`` (right, up, depth)."""
        v = np.asarray(points, dtype=np.float64) - self.position
        return np.stack((v @ self.right, v @ self.up, v @ self.forward), axis=-1)

    def project(self, points: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates ``[..., 2]`` (x right, y down) and depths ``[...]`` of world points."""
        c = self.to_camera(points)
        depth = c[..., 2]
        safe = np.maximum(depth, 1e-6)
        px = 0.5 * self.width + self.focal * c[..., 0] / safe
        py = 0.5 * self.height - self.focal * c[..., 1] / safe
        return np.stack((px, py), axis=-1), depth

    def pixels_per_metre(self, depth: Any) -> Any:
        return self.focal / np.maximum(depth, 1e-6)


def tracking_camera(target: Sequence[float], azimuth: float, width: int, height: int, distance: float = 1.7,
                    elevation: float = math.radians(28.0), fov_y: float = math.radians(40.0)) -> Camera:
    """A camera ``distance`` from ``target``, seen from world direction ``azimuth`` at ``elevation``."""
    target = np.asarray(target, dtype=np.float64)
    offset = np.array([math.cos(elevation) * math.cos(azimuth), math.cos(elevation) * math.sin(azimuth),
                       math.sin(elevation)])
    position = target + distance * offset
    forward = -offset
    right = np.cross(forward, np.array([0.0, 0.0, 1.0]))
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    focal = 0.5 * height / math.tan(0.5 * fov_y)
    return Camera(position, right, up, forward, focal, int(width), int(height))


def ground_arrow(start_xy: np.ndarray, vector_xy: np.ndarray, width: float = 0.035) -> np.ndarray:
    """Outline ``[7, 2]`` of a flat arrow from ``start_xy`` along ``vector_xy`` (metres)."""
    length = float(np.hypot(*vector_xy))
    if length < 1e-9:
        return np.repeat(np.asarray(start_xy, dtype=np.float64)[None], 7, axis=0)
    u = np.asarray(vector_xy, dtype=np.float64) / length
    n = np.array([-u[1], u[0]])
    head = min(2.6 * width, 0.6 * length)
    shaft = length - head
    w, hw = 0.5 * width, 1.3 * width
    local = [(0, w), (shaft, w), (shaft, hw), (length, 0), (shaft, -hw), (shaft, -w), (0, -w)]
    return np.array([start_xy + a * u + b * n for a, b in local])


def checker_tiles(centre_xy: np.ndarray, half_extent: float, tile: float = TILE_SIZE) -> Tuple[np.ndarray, np.ndarray]:
    """World-fixed ground tiles around ``centre_xy``: corners ``[T, 4, 2]`` and parity ``[T]`` (checkerboard)."""
    lo = np.floor((np.asarray(centre_xy) - half_extent) / tile).astype(int)
    count = int(math.ceil(2 * half_extent / tile)) + 1
    ii, jj = np.meshgrid(np.arange(count) + lo[0], np.arange(count) + lo[1], indexing="ij")
    ii, jj = ii.ravel(), jj.ravel()
    x0, y0 = ii * tile, jj * tile
    corners = np.stack([np.stack((x0, y0), -1), np.stack((x0 + tile, y0), -1), np.stack((x0 + tile, y0 + tile), -1),
                        np.stack((x0, y0 + tile), -1)], axis=1)
    return corners, (ii + jj) % 2


# -- drawing -------------------------------------------------------------------------------------------------

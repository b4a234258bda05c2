"""The terrain as data (a ``Terrain`` of torch tensors) and the lookups every backend shares.

World frame (legged_gym's): ``heights[i, j]`` is the height sample of the cell over
x in [i*hs - B, (i+1)*hs - B) and y in [j*hs - B, (j+1)*hs - B), with hs the horizontal scale and B the border
width in metres (``border * hs``). Tile (row r, column c) covers x in [r*tile_length, (r+1)*tile_length),
y in [c*tile_width, (c+1)*tile_width): the grid starts at the world origin and the border lies at negative x/y
and beyond the last tile. Rows are difficulty levels (along x), columns are tile types (along y).

Surface model (the one shared by go2-toy and go2-mujoco; legged_gym's trimesh rule). ``heights`` are samples at the
cell centres. Between two neighbouring cells whose heights differ by at most ``slope_threshold * hs`` (0.75: 7.5 cm
per 0.1 m cell) the ground is smooth: bilinear between the four nearest cell centres (so a constant slope is a
plane, and the surface is mirror-symmetric with the heights, unlike a triangulation). A larger difference is a
vertical riser on the cell boundary: the cell's side of the square reads its own height there, so stair treads and
obstacle tops are flat right up to their risers. ``ground_surface`` gives this walking surface and its gradient
(go2-toy's feet, the MuJoCo hfield); ``column_contacts`` gives a sphere's penetration into its own ground and into
the risers of the four face neighbours (only where a neighbour is higher by more than the threshold).
``slope_threshold = 0`` makes every cell a flat-topped column (vertical risers everywhere).

``ground_height`` (= ``column_top``) is the height sample of the cell under (x, y), piecewise constant: what the
height scan, the base height and the fall checks read in every backend (as legged_gym's ``_get_heights`` reads
the raw samples), so they are bit-identical across simulators; it differs from the walking surface by at most
half a cell's rise on gentle slopes. Points off the map read the nearest edge cell (the border continues flat).
MuJoCo samples ``ground_surface`` on an upsampled hfield (``mujoco_hfield``).
"""
import dataclasses
from dataclasses import dataclass
from typing import NamedTuple, Tuple, Union

import torch

from .params import SLOPE_THRESHOLD


@dataclass(frozen=True)
class Terrain:
    """A height field plus its tile grid; every tensor lives on one device."""

    heights: torch.Tensor
    """[cells_x, cells_y] float32 column tops [m], whole multiples of ``vertical_scale``."""
    horizontal_scale: float
    """Cell size [m]."""
    vertical_scale: float
    """Height unit [m]."""
    border: int
    """Border width in cells: cell (0, 0) starts at world (-border*hs, -border*hs)."""
    tile_length: float
    """Tile size along x [m]."""
    tile_width: float
    """Tile size along y [m]."""
    tile_origins: torch.Tensor
    """[num_rows, num_cols, 3] spawn point of each tile: centre xy, z = highest column top in its central 2 x 2 m
    (for evaluation courses: the start of the strip, see ``courses``)."""
    tile_types: torch.Tensor
    """[num_cols] int64 tile-type code of each column (index into ``params.TILE_TYPES``)."""
    tile_difficulty: torch.Tensor
    """[num_rows] float32 difficulty in [0, 1] of each row."""
    slope_threshold: float = SLOPE_THRESHOLD
    """Neighbouring cells differing by more than this times ``horizontal_scale`` meet at a vertical riser; closer
    ones are joined smoothly (bilinear between cell centres; legged_gym's ``slope_treshold``; 0: columns everywhere)."""

    @property
    def riser_min(self) -> float:
        """A height difference above this [m] is a riser (the threshold plus a quarter unit against rounding)."""
        return self.slope_threshold * self.horizontal_scale + 0.25 * self.vertical_scale

    @property
    def num_rows(self) -> int:
        """Difficulty levels (tiles along x)."""
        return int(self.tile_origins.shape[0])

    @property
    def num_cols(self) -> int:
        """Type columns (tiles along y)."""
        return int(self.tile_origins.shape[1])

    @property
    def corner(self) -> float:
        """World x (and y) of the low corner of cell (0, 0): -border * horizontal_scale."""
        return -self.border * self.horizontal_scale

    @property
    def device(self) -> torch.device:
        """Device of the tensors."""
        return self.heights.device

    def to(self, device: Union[str, torch.device]) -> "Terrain":
        """The same terrain with every tensor on ``device``."""
        return dataclasses.replace(
            self, heights=self.heights.to(device), tile_origins=self.tile_origins.to(device),
            tile_types=self.tile_types.to(device), tile_difficulty=self.tile_difficulty.to(device))

    def cell_centre(self, i: int, j: int) -> Tuple[float, float]:
        """World (x, y) of the centre of cell (i, j)."""
        return (self.corner + (i + 0.5) * self.horizontal_scale, self.corner + (j + 0.5) * self.horizontal_scale)


def _raw_index(terrain: Terrain, coord: torch.Tensor) -> torch.Tensor:
    """Unclamped integer cell index along one axis of world coordinates ``coord``."""
    return torch.floor((coord - terrain.corner) / terrain.horizontal_scale).long()


def cell_index(terrain: Terrain, x: torch.Tensor, y: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Indices (i, j) of the cells under world (x, y), clamped to the map (off-map points read the edge)."""
    inv = 1.0 / terrain.horizontal_scale
    # truncation equals floor here: every negative value clamps to 0 either way
    i = ((x - terrain.corner) * inv).long().clamp_(0, terrain.heights.shape[0] - 1)
    j = ((y - terrain.corner) * inv).long().clamp_(0, terrain.heights.shape[1] - 1)
    return i, j


def _height_at(terrain: Terrain, i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
    """Column tops at integer indices (clamped here), one gather."""
    rows, cols = terrain.heights.shape
    flat_index = i.clamp(0, rows - 1) * cols + j.clamp(0, cols - 1)
    return terrain.heights.reshape(-1)[flat_index.reshape(-1)].reshape(i.shape)


def _gather(terrain: Terrain, i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
    """Column tops at indices already inside the map."""
    flat_index = i * terrain.heights.shape[1] + j
    return terrain.heights.reshape(-1)[flat_index.reshape(-1)].reshape(i.shape)


def ground_height(terrain: Terrain, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Ground z under world (x, y) [m], any matching shapes: the top of that cell's column (piecewise constant)."""
    i, j = cell_index(terrain, x, y)
    return _gather(terrain, i, j)


column_top = ground_height
"""Alias of ``ground_height``: the height sample of the cell under a point (its column top at slope_threshold 0)."""


class GroundPatch(NamedTuple):
    """The ground around a point, from the four cell centres nearest to it (``ground_patch``)."""

    z: torch.Tensor
    """Walking-surface height [m]."""
    dz_dx: torch.Tensor
    """Surface gradient along x."""
    dz_dy: torch.Tensor
    """Surface gradient along y."""
    own: torch.Tensor
    """Height sample of the cell under the point."""
    next_x: torch.Tensor
    """Height sample of the neighbour across the own cell's nearer x face."""
    next_y: torch.Tensor
    """Height sample of the neighbour across the own cell's nearer y face."""
    face_x: torch.Tensor
    """World x of that face."""
    face_y: torch.Tensor
    """World y of that face."""
    up_x: torch.Tensor
    """bool: that x face is the own cell's upper one (the neighbour at +x)."""
    up_y: torch.Tensor
    """bool: that y face is the own cell's upper one."""


def ground_patch(terrain: Terrain, x: torch.Tensor, y: torch.Tensor) -> GroundPatch:
    """The walking surface at world (x, y) (any matching shapes) and the cells around it, from four gathers.

    The surface (see the module's surface model) is bilinear between the four nearest cell centres, with every
    corner that lies across a riser from the point's own cell replaced by the own cell's height. Those four cells
    are also the own cell and its neighbours across its nearer x and y faces, so a sphere's riser contacts need no
    more lookups. int32 indices (compiled, int64 index maths was ~3x slower); fewer than 2**31 cells
    (``TerrainParams.max_cells`` is far below)."""
    rows, cols = terrain.heights.shape
    flat = terrain.heights.reshape(-1)
    inv = 1.0 / terrain.horizontal_scale
    u = (x - terrain.corner) * inv - 0.5  # cell centres at whole u, v
    v = (y - terrain.corner) * inv - 0.5
    u0, v0 = torch.floor(u), torch.floor(v)
    fu, fv = u - u0, v - v0
    i0, j0 = u0.to(torch.int32), v0.to(torch.int32)

    def top(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return flat[a.clamp(0, rows - 1) * cols + b.clamp(0, cols - 1)]

    c00, c10, c01, c11 = top(i0, j0), top(i0 + 1, j0), top(i0, j0 + 1), top(i0 + 1, j0 + 1)
    in_x1, in_y1 = fu >= 0.5, fv >= 0.5  # the own cell is corner (1, .) / (., 1)
    own = torch.where(in_x1, torch.where(in_y1, c11, c10), torch.where(in_y1, c01, c00))
    next_x = torch.where(in_x1, torch.where(in_y1, c01, c00), torch.where(in_y1, c11, c10))
    next_y = torch.where(in_x1, torch.where(in_y1, c10, c11), torch.where(in_y1, c00, c01))
    riser = terrain.riser_min

    def near(h: torch.Tensor) -> torch.Tensor:
        return torch.where((h - own).abs() <= riser, h, own)

    h00, h10, h01, h11 = near(c00), near(c10), near(c01), near(c11)
    dz_du = (h10 - h00) + fv * (h11 - h01 - h10 + h00)
    dz_dv = (h01 - h00) + fu * (h11 - h10 - h01 + h00)
    z = h00 + fu * (h10 - h00) + fv * dz_dv
    face_x = terrain.corner + (u0 + 1.0) * terrain.horizontal_scale
    face_y = terrain.corner + (v0 + 1.0) * terrain.horizontal_scale
    return GroundPatch(z, dz_du * inv, dz_dv * inv, own, next_x, next_y, face_x, face_y, ~in_x1, ~in_y1)


def ground_surface(terrain: Terrain, x: torch.Tensor, y: torch.Tensor
                   ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(z, dz/dx, dz/dy)`` of the walking surface at world (x, y), any matching shapes (``ground_patch``)."""
    patch = ground_patch(terrain, x, y)
    return patch.z, patch.dz_dx, patch.dz_dy


def ground_normal(terrain: Terrain, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """[..., 3] unit upward normal of the walking surface at (x, y) (``ground_surface``; +z on treads)."""
    _, dz_dx, dz_dy = ground_surface(terrain, x, y)
    normal = torch.stack((-dz_dx, -dz_dy, torch.ones_like(dz_dx)), dim=-1)
    return normal / normal.norm(dim=-1, keepdim=True)


def column_contacts(terrain: Terrain, centre: torch.Tensor, radius: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """Penetration of spheres into the ground: ``depth`` [..., 5] >= 0 and unit ``normal`` [..., 5, 3].

    ``centre`` is [..., 3] world positions. Contact 0 is the walking surface under the centre (``ground_surface``:
    depth = radius - distance to the tangent plane there, also when the centre sank below it; normal that
    plane's). Contacts 1..4 are the face neighbours at +x, -x, +y, -y, counted only where that cell is higher than
    the own one by more than the riser threshold (``Terrain.riser_min``): the distance from the centre to the
    neighbour's riser, or to its top edge (the nosing) when the centre is above it, so a foot pushed sideways into a
    step meets a vertical wall. Summing spring forces over the five contacts never counts one riser twice.
    Diagonal neighbours are left out: their corner matters only within ``radius`` of a cell corner (radius < hs / 2
    assumed). Depth 0 means no contact.
    """
    px, py, pz = centre.unbind(-1)
    hs = terrain.horizontal_scale
    i_raw, j_raw = _raw_index(terrain, px), _raw_index(terrain, py)
    own_top = _height_at(terrain, i_raw, j_raw)
    z, dz_dx, dz_dy = ground_surface(terrain, px, py)
    n_z = torch.rsqrt(1.0 + dz_dx * dz_dx + dz_dy * dz_dy)
    depths = [(radius - (pz - z) * n_z).clamp(min=0.0)]
    zeros = torch.zeros_like(pz)
    normals = [torch.stack((-dz_dx * n_z, -dz_dy * n_z, n_z), dim=-1)]
    for axis, step in ((0, 1), (0, -1), (1, 1), (1, -1)):
        top = _height_at(terrain, i_raw + step, j_raw) if axis == 0 else _height_at(terrain, i_raw, j_raw + step)
        index, along = (i_raw, px) if axis == 0 else (j_raw, py)
        face = terrain.corner + (index + (1 if step > 0 else 0)).to(along.dtype) * hs
        d_along = along - face  # <= 0 towards +, >= 0 towards -
        d_up = (pz - top).clamp(min=0.0)  # above the neighbour's top: the nosing edge
        dist = torch.sqrt(d_along * d_along + d_up * d_up)
        safe = dist > 1e-9
        n_along = torch.where(safe, d_along / dist.clamp(min=1e-9), torch.full_like(dist, -float(step)))
        n_up = torch.where(safe, d_up / dist.clamp(min=1e-9), zeros)
        depth = torch.where(top > own_top + terrain.riser_min, (radius - dist).clamp(min=0.0), zeros)
        normal = (n_along, zeros, n_up) if axis == 0 else (zeros, n_along, n_up)
        depths.append(depth)
        normals.append(torch.stack(normal, dim=-1))
    return torch.stack(depths, dim=-1), torch.stack(normals, dim=-2)

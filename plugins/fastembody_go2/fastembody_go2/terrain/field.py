"""The terrain as data (a ``Terrain`` of torch tensors) and the lookups every backend shares.

World frame (legged_gym's): ``heights[i, j]`` is the top of a flat-topped column over
x in [i*hs - B, (i+1)*hs - B) and y in [j*hs - B, (j+1)*hs - B), with hs the horizontal scale and B the border
width in metres (``border * hs``). Tile (row r, column c) covers x in [r*tile_length, (r+1)*tile_length),
y in [c*tile_width, (c+1)*tile_width): the grid starts at the world origin and the border lies at negative x/y
and beyond the last tile. Rows are difficulty levels (along x), columns are tile types (along y).

Riser model (the one shared by go2-toy and go2-mujoco): every cell is a column with a flat top, so a height
change between neighbouring cells is a vertical wall at the cell boundary. ``ground_height`` is the top of the
column under (x, y) (a piecewise-constant lookup, no interpolation); ``column_contacts`` gives a sphere's
penetration into its own column and into the four face neighbours (risers and nosings). Points off the map read
the nearest edge cell (the border continues flat). Smooth slopes are therefore terraces of slope*hs per cell
(3.6 cm at slope 0.36 and hs 0.1); ``ground_normal`` gives the normal of the smooth surface through the cell
centres for friction directions on such slopes. MuJoCo models the same columns with an upsampled hfield whose
one-sample ramps are centred on the riser lines (``mujoco_hfield``); the height scan uses ``ground_height`` in
every backend, so it is bit-identical across simulators.
"""
import dataclasses
from dataclasses import dataclass
from typing import Tuple, Union

import torch


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
"""Alias of ``ground_height``: the riser model reads the flat top of the column under a point."""


def ground_normal(terrain: Terrain, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """[..., 3] unit normal of the smooth surface through the cell centres around (x, y) (central differences).

    Use it for slope friction directions; at a stair riser it tilts towards the step, so contacts against risers
    should come from ``column_contacts`` instead.
    """
    i, j = cell_index(terrain, x, y)
    rows, cols = terrain.heights.shape
    hs = terrain.horizontal_scale
    i_hi, i_lo = (i + 1).clamp(max=rows - 1), (i - 1).clamp(min=0)
    j_hi, j_lo = (j + 1).clamp(max=cols - 1), (j - 1).clamp(min=0)
    dx = (_height_at(terrain, i_hi, j) - _height_at(terrain, i_lo, j)) / ((i_hi - i_lo).clamp(min=1) * hs)
    dy = (_height_at(terrain, i, j_hi) - _height_at(terrain, i, j_lo)) / ((j_hi - j_lo).clamp(min=1) * hs)
    normal = torch.stack((-dx, -dy, torch.ones_like(dx)), dim=-1)
    return normal / normal.norm(dim=-1, keepdim=True)


def column_contacts(terrain: Terrain, centre: torch.Tensor, radius: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """Penetration of spheres into the columns: ``depth`` [..., 5] >= 0 and unit ``normal`` [..., 5, 3].

    ``centre`` is [..., 3] world positions. Contact 0 is the sphere's own column top (normal +z, depth =
    radius - (z - top), also when the centre sank below the top). Contacts 1..4 are the face neighbours at
    +x, -x, +y, -y, counted only where that column is higher than the own one: the distance from the centre to
    the neighbour's column (its riser, or its top edge, the nosing, when the centre is above it), so a foot
    pushed sideways into a step meets a vertical wall. Summing spring forces over the five contacts never counts
    one riser twice. Diagonal neighbours are left out: their corner matters only within ``radius`` of a cell
    corner (radius < hs / 2 assumed). Depth 0 means no contact.
    """
    px, py, pz = centre.unbind(-1)
    hs = terrain.horizontal_scale
    i_raw, j_raw = _raw_index(terrain, px), _raw_index(terrain, py)
    own_top = _height_at(terrain, i_raw, j_raw)
    depths = [(radius - (pz - own_top)).clamp(min=0.0)]
    zeros, ones = torch.zeros_like(pz), torch.ones_like(pz)
    normals = [torch.stack((zeros, zeros, ones), dim=-1)]
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
        depth = torch.where(top > own_top, (radius - dist).clamp(min=0.0), zeros)
        normal = (n_along, zeros, n_up) if axis == 0 else (zeros, n_along, n_up)
        depths.append(depth)
        normals.append(torch.stack(normal, dim=-1))
    return torch.stack(depths, dim=-1), torch.stack(normals, dim=-2)

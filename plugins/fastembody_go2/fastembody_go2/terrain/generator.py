"""``generate_terrain``: legged_gym's curriculum grid of tiles as one seeded torch height field.

Row i (along x) has difficulty d_i = difficulty_min + (difficulty_max - difficulty_min) * i / num_rows; column j
(along y) takes the first tile type whose cumulative normalised proportion exceeds j / num_cols + 0.001 (types in
``params.TILE_TYPES`` order). Per difficulty d (legged_gym's ``make_terrain``):

* smooth slope, up (a pit: robots climb out) / down (a hill): slope 0.4 d, a ``platform_size`` square on top.
* rough slope: the hill plus uniform noise of +-``rough_noise`` on a 0.2 m grid (every d).
* stairs up (a pit) / down (a hill): steps 0.05 + 0.18 d high (truncated to vertical units), ``stair_tread`` deep.
* discrete obstacles: 20 rectangles 1.0-1.8 m, heights +-(0.05 + 0.2 d) and half that, flat platform.
* flat: zeros.

Randomness comes from one ``torch.Generator`` seeded with ``seed`` and drawn tile by tile in row-major order, so
the same params and seed give the same array on every machine. The work is vectorised over cells (one Python
step per tile).
"""
from typing import List, Optional, Union

import torch

from . import tiles
from .field import Terrain
from .params import TILE_TYPES, TerrainParams

SLOPE_PER_DIFFICULTY = 0.4
"""Slope (rise over run) at difficulty 1."""
STEP_HEIGHT = (0.05, 0.18)
"""Stair step height = a + b * d [m]."""
OBSTACLE_HEIGHT = (0.05, 0.2)
"""Discrete obstacle height = a + b * d [m]."""
SPAWN_AREA_M = 2.0
"""A tile's spawn z is the highest column top in its central SPAWN_AREA_M x SPAWN_AREA_M square."""


def row_difficulties(params: TerrainParams) -> List[float]:
    """Difficulty in [0, 1] of each row."""
    span = params.difficulty_max - params.difficulty_min
    return [params.difficulty_min + span * i / params.num_rows for i in range(params.num_rows)]


def column_types(params: TerrainParams) -> List[int]:
    """Tile-type code (index into TILE_TYPES) of each column, by cumulative proportions (legged_gym's layout)."""
    weights = [params.proportions[name] for name in TILE_TYPES]
    total = sum(weights)
    cumulative, running = [], 0.0
    for weight in weights:
        running += weight / total
        cumulative.append(running)
    last_used = max(k for k, w in enumerate(weights) if w > 0)
    codes = []
    for j in range(params.num_cols):
        choice = j / params.num_cols + 0.001
        code = next((k for k, edge in enumerate(cumulative) if choice < edge and weights[k] > 0), last_used)
        codes.append(code)
    return codes


def tile_units(type_name: str, difficulty: float, params: TerrainParams, generator: torch.Generator) -> torch.Tensor:
    """[cells_x, cells_y] int32 height units of one tile of ``type_name`` at ``difficulty``."""
    hs, vs = params.horizontal_scale, params.vertical_scale
    length, width = params.tile_cells
    platform = tiles.whole(params.platform_size, hs)
    if type_name in ("smooth_slope_up", "smooth_slope_down", "rough_slope"):
        units_per_cell = SLOPE_PER_DIFFICULTY * difficulty * hs / vs
        sign = -1.0 if type_name == "smooth_slope_up" else 1.0
        units = tiles.pyramid_slope(length, width, sign * units_per_cell, platform)
        if type_name == "rough_slope":
            noise = tiles.whole(params.rough_noise, vs)
            pitch = max(1, int(round(tiles.NOISE_PITCH_M / hs)))
            units = units + tiles.uniform_noise(length, width, noise, pitch, generator)
        return units
    if type_name in ("stairs_up", "stairs_down"):
        step = tiles.whole(STEP_HEIGHT[0] + STEP_HEIGHT[1] * difficulty, vs)
        tread = tiles.whole(params.stair_tread, hs)
        return tiles.pyramid_stairs(length, width, tread, -step if type_name == "stairs_up" else step, platform)
    if type_name == "discrete_obstacles":
        height = tiles.whole(OBSTACLE_HEIGHT[0] + OBSTACLE_HEIGHT[1] * difficulty, vs)
        return tiles.discrete_obstacles(length, width, height, 1.0 / hs, platform, generator)
    if type_name == "flat":
        return torch.zeros(length, width, dtype=torch.int32)
    raise ValueError(f"unknown tile type {type_name!r}; known: {', '.join(TILE_TYPES)}")


def spawn_height(units: torch.Tensor, horizontal_scale: float) -> int:
    """Highest height unit in the central SPAWN_AREA_M square of one tile's units."""
    half = max(1, int(round(SPAWN_AREA_M / 2.0 / horizontal_scale)))
    cx, cy = units.shape[0] // 2, units.shape[1] // 2
    return int(units[max(cx - half, 0):cx + half, max(cy - half, 0):cy + half].max())


def generate_terrain(params: TerrainParams, seed: int,
                     device: Optional[Union[str, torch.device]] = None) -> Terrain:
    """The height field, tile origins, types and difficulties of ``params`` (built on the CPU, then moved).

    ``type: flat`` gives a one-cell zero field (every lookup reads 0) with tile origins at the tile centres."""
    hs, vs = params.horizontal_scale, params.vertical_scale
    length, width = params.tile_cells
    difficulty = row_difficulties(params)
    codes = column_types(params)
    origins = torch.zeros(params.num_rows, params.num_cols, 3, dtype=torch.float32)
    rows = torch.arange(params.num_rows, dtype=torch.float32)
    cols = torch.arange(params.num_cols, dtype=torch.float32)
    origins[..., 0] = ((rows + 0.5) * length * hs)[:, None]
    origins[..., 1] = ((cols + 0.5) * width * hs)[None, :]
    if params.type == "flat":
        heights, border = torch.zeros(1, 1, dtype=torch.float32), 0
    else:
        generator = torch.Generator(device="cpu")
        generator.manual_seed(int(seed))
        border = params.border_cells
        units = torch.zeros(params.grid_cells, dtype=torch.int32)
        spawn_units = torch.zeros(params.num_rows, params.num_cols, dtype=torch.int32)
        for i in range(params.num_rows):
            for j in range(params.num_cols):
                tile = tile_units(TILE_TYPES[codes[j]], difficulty[i], params, generator)
                x0, y0 = border + i * length, border + j * width
                units[x0:x0 + length, y0:y0 + width] = tile
                spawn_units[i, j] = spawn_height(tile, hs)
        heights = units.to(torch.float32) * vs
        origins[..., 2] = spawn_units.to(torch.float32) * vs  # the same float32 product as ``heights``
    terrain = Terrain(
        heights=heights, horizontal_scale=hs, vertical_scale=vs, border=border,
        tile_length=length * hs, tile_width=width * hs, tile_origins=origins,
        tile_types=torch.tensor(codes, dtype=torch.int64),
        tile_difficulty=torch.tensor(difficulty, dtype=torch.float32), slope_threshold=params.slope_threshold)
    return terrain.to(device) if device is not None else terrain

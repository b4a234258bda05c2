"""Height units of one tile, per type (vectorised over cells; integers in units of the vertical scale).

Each builder returns an int32 tensor [cells_x, cells_y] of signed height units, indexed [x, y] like the whole
field. The formulas follow isaacgym's ``terrain_utils`` as used by legged_gym (restated, see
``/shared/reference/terrain.md`` §1.3), with one deliberate change: the pyramid slope is a true pyramid with planar
faces (height = slope x distance to the tile edge), so the whole face has gradient ``slope``; isaacgym's product of
two tents has that gradient only along the tile's centre lines.
"""
import math
from typing import Optional

import torch
import torch.nn.functional as F

EPS = 1e-6
"""Guards the truncation of sizes to whole cells/units against float error (0.15 / 0.005 = 29.999...)."""
OBSTACLE_COUNT = 20
"""Rectangles per discrete-obstacle tile (legged_gym)."""
OBSTACLE_SIZES_M = (1.0, 2.0)
"""Obstacle sides are drawn from [min, max) in steps of ``OBSTACLE_LATTICE_M`` (1.0, 1.4, 1.8 m)."""
OBSTACLE_LATTICE_M = 0.4
"""Obstacle corners sit on this lattice, and sides step by it (legged_gym: 4 cells of 0.1 m)."""
NOISE_PITCH_M = 0.2
"""Rough-slope noise is drawn on a grid of this pitch and interpolated linearly (legged_gym's downsampled_scale)."""


def whole(value: float, unit: float) -> int:
    """``value`` truncated to whole ``unit``s (int() as isaacgym, with an epsilon for float error)."""
    return int(math.floor(value / unit + EPS)) if value >= 0 else -int(math.floor(-value / unit + EPS))


def edge_distance(length: int, width: int, device: Optional[torch.device] = None) -> torch.Tensor:
    """[length, width] distance in cells from each cell centre to the nearest tile edge (0.5 at the rim)."""
    a = torch.arange(length, dtype=torch.float32, device=device)
    b = torch.arange(width, dtype=torch.float32, device=device)
    dist_x = torch.minimum(a + 0.5, length - a - 0.5)
    dist_y = torch.minimum(b + 0.5, width - b - 0.5)
    return torch.minimum(dist_x[:, None], dist_y[None, :])


def pyramid_slope(length: int, width: int, units_per_cell: float, platform: int) -> torch.Tensor:
    """A pyramid rising ``units_per_cell`` per cell from the rim (0) to a flat ``platform``-cell square on top.

    Negative ``units_per_cell`` gives a pit (robots start at the bottom and climb out)."""
    top = min(length - platform, width - platform) / 2.0
    dist = edge_distance(length, width).clamp(max=top)
    return torch.round(units_per_cell * dist).to(torch.int32)


def pyramid_stairs(length: int, width: int, tread: int, step_units: int, platform: int) -> torch.Tensor:
    """Concentric square steps ``tread`` cells deep, each ``step_units`` higher, until the top is <= ``platform``.

    Step k (k = 1..n) covers [k*tread, size - k*tread) on both axes; negative ``step_units`` gives a pit."""
    steps, side_x, side_y = 0, length, width
    while side_x > platform and side_y > platform:
        side_x, side_y, steps = side_x - 2 * tread, side_y - 2 * tread, steps + 1
    a = torch.arange(length)
    b = torch.arange(width)
    ring_x = torch.minimum(a, length - 1 - a) // tread
    ring_y = torch.minimum(b, width - 1 - b) // tread
    level = torch.minimum(ring_x[:, None], ring_y[None, :]).clamp(max=steps)
    return (level * step_units).to(torch.int32)


def uniform_noise(length: int, width: int, max_units: int, pitch: int, generator: torch.Generator) -> torch.Tensor:
    """Uniform integer heights in [-max_units, max_units] on a grid of ``pitch`` cells, interpolated linearly
    (corner-aligned, as isaacgym's interp2d over linspace grids) to every cell and rounded."""
    coarse_x, coarse_y = max(2, length // max(pitch, 1)), max(2, width // max(pitch, 1))
    coarse = torch.randint(-max_units, max_units + 1, (1, 1, coarse_x, coarse_y), generator=generator)
    fine = F.interpolate(coarse.float(), size=(length, width), mode="bilinear", align_corners=True)[0, 0]
    return torch.round(fine).to(torch.int32)


def discrete_obstacles(length: int, width: int, max_units: int, cells_per_m: float, platform: int,
                       generator: torch.Generator, count: int = OBSTACLE_COUNT) -> torch.Tensor:
    """``count`` rectangles on a lattice, heights from {-h, floor(-h/2), h//2, h} (the last drawn wins), and a
    flat ``platform``-cell square at the centre."""
    lattice = max(1, whole(OBSTACLE_LATTICE_M * cells_per_m, 1.0))
    low, high = (whole(size * cells_per_m, 1.0) for size in OBSTACLE_SIZES_M)
    sizes = list(range(low, high, lattice)) or [max(low, 1)]
    levels = [-max_units, (-max_units) // 2, max_units // 2, max_units]
    size_pick = torch.randint(0, len(sizes), (count, 2), generator=generator).tolist()
    start_pick = torch.rand(count, 2, generator=generator, dtype=torch.float64).tolist()
    level_pick = torch.randint(0, len(levels), (count,), generator=generator).tolist()
    units = torch.zeros(length, width, dtype=torch.int32)
    for (kx, ky), (ux, uy), kz in zip(size_pick, start_pick, level_pick):
        size_x, size_y = sizes[kx], sizes[ky]
        slots_x, slots_y = -(-(length - size_x) // lattice), -(-(width - size_y) // lattice)
        if slots_x < 1 or slots_y < 1:
            continue
        x0, y0 = int(ux * slots_x) * lattice, int(uy * slots_y) * lattice
        units[x0:x0 + size_x, y0:y0 + size_y] = levels[kz]
    x1, y1 = (length - platform) // 2, (width - platform) // 2
    units[x1:x1 + platform, y1:y1 + platform] = 0
    return units

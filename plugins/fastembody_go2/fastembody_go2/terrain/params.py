"""Terrain parameters shared by every Go2 env (torch-free: configs validate without importing torch).

Defaults are legged_gym's ``LeggedRobotCfg.terrain`` (see docs in ``fastembody_go2.terrain``): 10 difficulty
rows x 20 type columns of 8 m x 8 m tiles, 0.1 m cells, 5 mm height units, a 25 m flat border, and the
187-point height scan (17 x 11 points, 0.1 m apart, over 1.6 m x 1.0 m around the base).
"""
import difflib
import math
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

from fastembody_core import ConfigError, check_int, check_number


TERRAIN_KINDS = ("flat", "rough")
"""``flat``: no height field (every lookup reads 0). ``rough``: the generated grid of tiles."""

TILE_TYPES = (
    "smooth_slope_up", "smooth_slope_down", "rough_slope", "stairs_up", "stairs_down", "discrete_obstacles", "flat",
)
"""Tile types in the order columns are assigned (cumulative proportions); a tile type's code is its index."""

DEFAULT_PROPORTIONS = {
    "smooth_slope_up": 0.05, "smooth_slope_down": 0.05, "rough_slope": 0.1, "stairs_up": 0.35,
    "stairs_down": 0.25, "discrete_obstacles": 0.2, "flat": 0.0,
}
"""legged_gym's [0.1 smooth slope (half up, half down), 0.1 rough, 0.35 stairs up, 0.25 down, 0.2 discrete]."""

HEIGHT_SCAN_OBS_SCALE = 5.0
"""legged_gym's observation scale of the height scan (applied by the observation term, not by ``height_scan``)."""
HEIGHT_SCAN_NOISE_M = 0.1
"""legged_gym's uniform height-scan noise at noise level 1 [m] (applied by the observation term)."""
SLOPE_THRESHOLD = 0.75
"""legged_gym's trimesh ``slope_treshold``: a rise above 0.75 x the cell size between neighbours is a riser."""
BYTES_PER_CELL = 4
"""A height cell is one float32."""


def _default_scan(half_extent: float) -> List[float]:
    steps = int(round(half_extent / 0.1))
    return [round(0.1 * k, 10) for k in range(-steps, steps + 1)]


def _check_proportions(proportions: Dict[str, float]) -> Dict[str, float]:
    if not isinstance(proportions, dict):
        raise ConfigError(f"expected a mapping of tile type to weight, got {proportions!r}", key="proportions")
    checked = {name: 0.0 for name in TILE_TYPES}
    for name, weight in proportions.items():
        if name not in checked:
            near = difflib.get_close_matches(str(name), TILE_TYPES, n=1, cutoff=0.5)
            hint = f"did you mean {near[0]!r}?" if near else f"known types: {', '.join(TILE_TYPES)}"
            raise ConfigError(f"unknown tile type {name!r}; {hint}", key=f"proportions.{name}")
        checked[name] = check_number(weight, f"proportions.{name}", low=0.0)
    total = sum(checked.values())
    if not total > 0.0:
        raise ConfigError(f"the weights must sum to a positive number, got {total:g}", key="proportions")
    return checked


def _check_scan(values: List[float], key: str) -> List[float]:
    if not isinstance(values, (list, tuple)) or not values:
        raise ConfigError(f"expected a non-empty list of offsets [m], got {values!r}", key=key)
    return [check_number(v, f"{key}[{i}]") for i, v in enumerate(values)]


def _cells(length: float, horizontal_scale: float, key: str) -> int:
    cells = int(round(length / horizontal_scale))
    if cells < 1 or abs(cells * horizontal_scale - length) > 1e-6 * max(1.0, length):
        raise ConfigError(f"must be a whole multiple of horizontal_scale {horizontal_scale:g}, got {length:g}", key=key)
    return cells


@dataclass
class TerrainParams:
    """Ground of a Go2 env: flat, or legged_gym's grid of tiles (rows = difficulty along x, columns = type along y)."""

    type: str = "flat"
    """``flat`` (today's ground, no height field) or ``rough`` (the generated height field)."""
    proportions: Dict[str, float] = field(default_factory=lambda: dict(DEFAULT_PROPORTIONS))
    """Weight of each tile type (normalised; types left out are 0): smooth_slope_up, smooth_slope_down, rough_slope,
    stairs_up, stairs_down, discrete_obstacles, flat. Columns take types in that order by cumulative weight."""
    num_rows: int = 10
    """Difficulty levels (tiles along x)."""
    num_cols: int = 20
    """Type columns (tiles along y)."""
    tile_length: float = 8.0
    """Tile size along x [m] (a whole multiple of horizontal_scale)."""
    tile_width: float = 8.0
    """Tile size along y [m] (a whole multiple of horizontal_scale)."""
    horizontal_scale: float = 0.1
    """Cell size [m] (heights are samples at the cell centres)."""
    vertical_scale: float = 0.005
    """Height unit [m]: heights are whole multiples of it."""
    slope_threshold: float = SLOPE_THRESHOLD
    """Neighbouring cells whose heights differ by more than this times horizontal_scale meet at a vertical riser;
    closer ones are joined smoothly, bilinear between cell centres (legged_gym's trimesh ``slope_treshold``: 7.5 cm per 0.1 m cell, so
    10 cm stairs have vertical risers and 20 deg slopes are planes). 0: every cell a flat-topped column."""
    border_size: float = 25.0
    """Flat margin around the grid [m] (legged_gym's; rounded down to whole cells). Costs little in torch
    (11 MB at the defaults); the MuJoCo hfield may crop it (``mujoco_hfield.hfield_spec(keep_border=...)``)."""
    platform_size: float = 3.0
    """Side of the flat square at each tile's centre [m] (spawn point)."""
    stair_tread: float = 0.31
    """Stair tread depth [m], truncated to whole cells (0.31 -> 0.30 m, as legged_gym)."""
    rough_noise: float = 0.05
    """Rough slope: uniform noise of +-this [m] on a 0.2 m grid, interpolated linearly (legged_gym)."""
    difficulty_min: float = 0.0
    """Difficulty of row 0, in [0, 1]."""
    difficulty_max: float = 1.0
    """Row i has difficulty min + (max - min) * i / num_rows (legged_gym: i / num_rows, so never quite max)."""
    curriculum: bool = True
    """Move robots between rows by walked distance; otherwise spawn on any row and never move."""
    max_init_level: int = 5
    """Robots start on rows 0..max_init_level (clipped to num_rows - 1; all rows without curriculum)."""
    scan_x: List[float] = field(default_factory=lambda: _default_scan(0.8))
    """Height-scan offsets along the base's heading [m] (legged_gym: -0.8..0.8 step 0.1, 17 values)."""
    scan_y: List[float] = field(default_factory=lambda: _default_scan(0.5))
    """Height-scan offsets to the base's left [m] (legged_gym: -0.5..0.5 step 0.1, 11 values)."""
    scan_offset: float = 0.5
    """The scan reads clip(base_z - scan_offset - ground_z, +-scan_clip) [m]. legged_gym's 0.5 (set for ANYmal)
    makes flat ground read about -0.18 m for a standing Go2; ~0.32 would read ~0. On flat ground (type flat)
    the scan is allowed and reads clip(base_z - scan_offset) at every point (ground z is 0 everywhere)."""
    scan_clip: float = 1.0
    """Clip of the height scan [m] (legged_gym: 1)."""
    max_cells: int = 25_000_000
    """Refuse a height field with more cells than this (float32: 100 MB at the default)."""

    def __post_init__(self) -> None:
        if self.type not in TERRAIN_KINDS:
            raise ConfigError(f"must be one of {', '.join(TERRAIN_KINDS)}, got {self.type!r}", key="type")
        self.proportions = _check_proportions(self.proportions)
        check_int(self.num_rows, "num_rows", 1)
        check_int(self.num_cols, "num_cols", 1)
        check_int(self.max_init_level, "max_init_level", 0)
        check_int(self.max_cells, "max_cells", 1)
        self.horizontal_scale = check_number(self.horizontal_scale, "horizontal_scale", 0.0, allow_equal=False)
        self.vertical_scale = check_number(self.vertical_scale, "vertical_scale", 0.0, allow_equal=False)
        for name in ("tile_length", "tile_width"):
            setattr(self, name, check_number(getattr(self, name), name, 0.0, allow_equal=False))
            _cells(getattr(self, name), self.horizontal_scale, name)
        self.slope_threshold = check_number(self.slope_threshold, "slope_threshold", 0.0)
        self.border_size = check_number(self.border_size, "border_size", 0.0)
        self.platform_size = check_number(self.platform_size, "platform_size", 0.0)
        if self.platform_size >= min(self.tile_length, self.tile_width):
            raise ConfigError(f"must be smaller than the tile ({self.tile_length:g} x {self.tile_width:g} m), "
                              f"got {self.platform_size:g}", key="platform_size")
        self.stair_tread = check_number(self.stair_tread, "stair_tread", self.horizontal_scale)
        self.rough_noise = check_number(self.rough_noise, "rough_noise", 0.0)
        for name in ("difficulty_min", "difficulty_max"):
            value = check_number(getattr(self, name), name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"must be in [0, 1], got {value:g}", key=name)
            setattr(self, name, value)
        if self.difficulty_min > self.difficulty_max:
            raise ConfigError(f"difficulty_min {self.difficulty_min:g} > difficulty_max {self.difficulty_max:g}",
                              key="difficulty_min")
        self.scan_x = _check_scan(self.scan_x, "scan_x")
        self.scan_y = _check_scan(self.scan_y, "scan_y")
        self.scan_offset = check_number(self.scan_offset, "scan_offset")
        self.scan_clip = check_number(self.scan_clip, "scan_clip", 0.0, allow_equal=False)
        if self.type == "rough":
            self._check_size()

    # -- derived sizes (in cells) --------------------------------------------------------------------------------
    @property
    def tile_cells(self) -> Tuple[int, int]:
        """(cells along x, cells along y) of one tile."""
        return (_cells(self.tile_length, self.horizontal_scale, "tile_length"),
                _cells(self.tile_width, self.horizontal_scale, "tile_width"))

    @property
    def border_cells(self) -> int:
        """Border width in whole cells (rounded down)."""
        return int(math.floor(self.border_size / self.horizontal_scale + 1e-9))

    @property
    def grid_cells(self) -> Tuple[int, int]:
        """(cells along x, cells along y) of the whole height field, border included."""
        length, width = self.tile_cells
        return (self.num_rows * length + 2 * self.border_cells, self.num_cols * width + 2 * self.border_cells)

    @property
    def num_scan_points(self) -> int:
        """Points in the height scan (len(scan_x) * len(scan_y); 187 by default)."""
        return len(self.scan_x) * len(self.scan_y)

    def _check_size(self) -> None:
        rows, cols = self.grid_cells
        if rows * cols > self.max_cells:
            raise ConfigError(
                f"terrain would be {rows} x {cols} cells = {_human_bytes(rows * cols * BYTES_PER_CELL)} of float32 "
                f"(limit max_cells={self.max_cells}); use fewer or smaller tiles, a coarser horizontal_scale or a "
                f"smaller border_size, or raise max_cells", key="max_cells")


def _human_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB"):
        if count < 1000.0:
            return f"{count:.1f} {unit}"
        count /= 1000.0
    return f"{count:.1f} GB"

"""The terrain as a MuJoCo ``<hfield>`` (no mujoco import here: it builds numbers, XML text and model writes).

MuJoCo's hfield (XMLreference §asset/hfield, ``engine_collision_convex.c``): ``nrow`` samples run along y and
``ncol`` along x; sample (r, c) sits at local (-radius_x + c*dx, -radius_y + r*dy) with dx = 2 radius_x/(ncol-1);
its height is geom_z + elevation_z * data[r*ncol + c] with data normalised to [0, 1]; mjModel stores rows
bottom-to-top (r = 0 at -radius_y; the XML ``elevation`` attribute is written top-to-bottom); each grid cell is
two triangles split along (c, r)-(c+1, r+1); a box of depth base_z lies below the lowest point.

Riser model. The torch field is flat-topped columns with vertical risers; an hfield is vertex samples joined by
triangles, so a height step becomes a ramp one sample spacing wide. ``hfield_spec`` samples each cell at
``upsample`` x ``upsample`` points at the centres of its sub-cells (spacing s = hs / upsample), all at the
cell's height: every cell has a flat top over its interior and the ramp (width s) is centred on the true riser
line. MuJoCo then equals ``ground_height`` exactly except within s/2 of a cell boundary with a height step,
where it ramps across the step (error up to the step height there). Riser angle atan(rise / s): at hs 0.1 and
upsample 4 (s = 2.5 cm) 76 deg for 10 cm and 80.5 deg for 15 cm steps (45/56 deg at upsample 1). Cost: upsample^2
samples per cell in float32 (the default 10 x 20 tiles with a 2 m border: 1.38 M cells, 88 MB at upsample 4,
22 MB at 2), held by every MjModel copy, so crop the border (``keep_border``) and share models where the env can.
"""
from typing import Any, NamedTuple, Optional, Tuple

import numpy as np
import torch

from .field import Terrain


class HFieldSpec(NamedTuple):
    """What MuJoCo's ``<hfield>`` and its geom need."""

    nrow: int
    """Samples along y."""
    ncol: int
    """Samples along x."""
    size: Tuple[float, float, float, float]
    """(radius_x, radius_y, elevation_z, base_z) [m]."""
    pos: Tuple[float, float, float]
    """World position of the hfield geom (z = the lowest ground)."""
    data: np.ndarray
    """[nrow * ncol] float32 in [0, 1], mjModel's row order (row r = y index r, bottom-to-top)."""
    upsample: int
    """Samples per cell and axis."""


def hfield_spec(terrain: Terrain, upsample: int = 4, base_z: float = 1.0,
                keep_border: Optional[float] = None) -> HFieldSpec:
    """The hfield of ``terrain``: each cell as ``upsample`` x ``upsample`` samples at its height.

    ``keep_border`` [m] crops the flat border to at most that width (None keeps all of it); the field then ends
    there, so an env whose robots may walk further should add flat ground (e.g. boxes topped at z = 0) outside.
    """
    if upsample < 1:
        raise ValueError(f"upsample must be >= 1, got {upsample}")
    heights = terrain.heights.detach().to("cpu", dtype=torch.float64).numpy()
    hs = terrain.horizontal_scale
    drop = 0 if keep_border is None else max(0, terrain.border - int(np.floor(keep_border / hs + 1e-9)))
    if drop:
        heights = heights[drop:heights.shape[0] - drop, drop:heights.shape[1] - drop]
    corner = terrain.corner + drop * hs
    if heights.shape[0] * upsample < 2 or heights.shape[1] * upsample < 2:
        heights = np.broadcast_to(heights, (max(heights.shape[0], 2), max(heights.shape[1], 2)))
    low, high = float(heights.min()), float(heights.max())
    elevation = high - low if high > low else terrain.vertical_scale
    samples = np.repeat(np.repeat(heights, upsample, axis=0), upsample, axis=1)  # [x, y]
    data = ((samples.T - low) / elevation).astype(np.float32)  # [y, x]: rows along y
    step = hs / upsample
    nrow, ncol = data.shape
    size = ((ncol - 1) * step / 2.0, (nrow - 1) * step / 2.0, elevation, float(base_z))
    pos = (corner + ncol * step / 2.0, corner + nrow * step / 2.0, low)
    return HFieldSpec(nrow, ncol, size, pos, np.ascontiguousarray(data).reshape(-1), upsample)


def hfield_xml(spec: HFieldSpec, name: str = "terrain", geom_attributes: str = "") -> Tuple[str, str]:
    """(``<hfield .../>`` for ``<asset>``, ``<geom .../>`` for ``<worldbody>``); the data stays zero until
    ``write_hfield`` (MJCF ``elevation`` would need the rows top-to-bottom and a huge string)."""
    radius_x, radius_y, elevation, base = spec.size
    asset = (f'<hfield name="{name}" nrow="{spec.nrow}" ncol="{spec.ncol}" '
             f'size="{radius_x!r} {radius_y!r} {elevation!r} {base!r}"/>')
    x, y, z = spec.pos
    geom = f'<geom name="{name}" type="hfield" hfield="{name}" pos="{x!r} {y!r} {z!r}" {geom_attributes}/>'
    return asset, geom


def write_hfield(model: Any, spec: HFieldSpec, name: str = "terrain") -> None:
    """Copy ``spec.data`` into a compiled MjModel's hfield ``name`` (re-upload it to a live renderer with
    ``mujoco.mjr_uploadHField``)."""
    hfield_id = model.hfield(name).id
    shape = (int(model.hfield_nrow[hfield_id]), int(model.hfield_ncol[hfield_id]))
    if shape != (spec.nrow, spec.ncol):
        raise ValueError(f"hfield {name!r} is {shape[0]} x {shape[1]}, the spec {spec.nrow} x {spec.ncol}")
    start = int(model.hfield_adr[hfield_id])
    model.hfield_data[start:start + spec.data.size] = spec.data


def hfield_height(spec: HFieldSpec, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """MuJoCo's surface z of the hfield at world (x, y) (inside the field; clamped at its edge): the
    triangle of the cell's (c, r)-(c+1, r+1) split that holds the point, interpolated linearly."""
    radius_x, radius_y, elevation, _ = spec.size
    grid = spec.data.reshape(spec.nrow, spec.ncol).astype(np.float64)
    u = (np.asarray(x, dtype=np.float64) - spec.pos[0] + radius_x) / (2 * radius_x) * (spec.ncol - 1)
    v = (np.asarray(y, dtype=np.float64) - spec.pos[1] + radius_y) / (2 * radius_y) * (spec.nrow - 1)
    u = np.clip(u, 0.0, spec.ncol - 1)
    v = np.clip(v, 0.0, spec.nrow - 1)
    c = np.minimum(np.floor(u).astype(np.int64), spec.ncol - 2)
    r = np.minimum(np.floor(v).astype(np.int64), spec.nrow - 2)
    fu, fv = u - c, v - r
    h00, h10 = grid[r, c], grid[r, c + 1]  # h10: one step along x
    h01, h11 = grid[r + 1, c], grid[r + 1, c + 1]
    lower = h00 + fu * (h10 - h00) + fv * (h11 - h10)  # fu >= fv
    upper = h00 + fv * (h01 - h00) + fu * (h11 - h01)  # fu < fv
    return spec.pos[2] + elevation * np.where(fu >= fv, lower, upper)

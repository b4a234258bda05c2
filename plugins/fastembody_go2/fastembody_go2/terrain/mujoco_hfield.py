"""The terrain as a MuJoCo ``<hfield>`` (no mujoco import here: it builds numbers, XML text and model writes).

MuJoCo's hfield (XMLreference §asset/hfield, ``engine_collision_convex.c``): ``nrow`` samples run along y and
``ncol`` along x; sample (r, c) sits at local (-radius_x + c*dx, -radius_y + r*dy) with dx = 2 radius_x/(ncol-1);
its height is geom_z + elevation_z * data[r*ncol + c] with data normalised to [0, 1]; mjModel stores rows
bottom-to-top (r = 0 at -radius_y; the XML ``elevation`` attribute is written top-to-bottom); each grid cell is
two triangles split along (c, r)-(c+1, r+1); a box of depth base_z lies below the lowest point.

Surface model. ``hfield_spec`` samples the shared walking surface (``field.ground_surface``: bilinear between cell
centres where neighbours differ by at most the slope threshold, vertical risers on the cell boundaries where they
differ by more) at ``upsample`` x ``upsample`` points per cell, at the centres of its sub-cells (spacing s = hs /
upsample). Constant slopes are then the same planes (MuJoCo's triangles between samples on a plane are that plane);
elsewhere on gentle ground MuJoCo's triangles between the samples stay within twist / (4 upsample^2) of the bilinear
surface (twist = h00 - h10 - h01 + h11 of the four centres: <= 1.6 mm on the rough slope at upsample 4); and a riser
becomes a ramp of width s centred on the true riser line: MuJoCo equals ``ground_surface`` at every sample and
differs by up to the step height only within s / 2 of a riser. Riser angle atan(rise / s): at hs 0.1 and upsample 4
(s = 2.5 cm) 76 deg for 10 cm and 80.5 deg for 15 cm steps (45/56 deg at upsample 1). Cost: upsample^2 samples per
cell in float32 (the default 10 x 20 tiles with a 2 m border: 1.38 M cells, 88 MB at upsample 4, 22 MB at 2), held
by every MjModel copy, so crop the border (``keep_border``) and share models where the env can.
"""
from typing import Any, NamedTuple, Optional, Tuple

import numpy as np
import torch

from .field import Terrain, ground_surface


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
                keep_border: Optional[float] = None, ceiling: Optional[torch.Tensor] = None) -> HFieldSpec:
    """The hfield of ``terrain``: each cell as ``upsample`` x ``upsample`` samples of ``ground_surface``.

    ``keep_border`` [m] crops the flat border to at most that width (None keeps all of it); the field then ends
    there, so an env whose robots may walk further should add flat ground (e.g. boxes topped at z = 0) outside.
    ``ceiling`` ``[rows, cols]`` (``mujoco_boxes.box_ceiling``): each cell's samples are clamped below it, so the
    hfield stays under the ground boxes.
    """
    if upsample < 1:
        raise ValueError(f"upsample must be >= 1, got {upsample}")
    cpu = terrain.to("cpu")
    hs = terrain.horizontal_scale
    drop = 0 if keep_border is None else max(0, terrain.border - int(np.floor(keep_border / hs + 1e-9)))
    rows, cols = (n - 2 * drop for n in terrain.heights.shape)
    corner = terrain.corner + drop * hs
    step = hs / upsample
    xs = corner + (torch.arange(max(rows * upsample, 2), dtype=torch.float64) + 0.5) * step
    ys = corner + (torch.arange(max(cols * upsample, 2), dtype=torch.float64) + 0.5) * step
    data = np.empty((ys.numel(), xs.numel()), dtype=np.float32)  # [y, x]: rows along y
    if ceiling is not None:  # [y, x] per sample: the cell's ceiling
        cells = ceiling.to("cpu", torch.float32)[drop:drop + rows, drop:drop + cols].t()
        cell_x = (torch.arange(xs.numel()) // upsample).clamp(max=rows - 1)
        cell_y = (torch.arange(ys.numel()) // upsample).clamp(max=cols - 1)
    chunk = max(1, 250_000 // xs.numel())
    for start in range(0, ys.numel(), chunk):  # bounded temporaries (the default map has ~22 M samples)
        y = ys[start:start + chunk, None].to(torch.float32).expand(-1, xs.numel())
        x = xs[None, :].to(torch.float32).expand(y.shape[0], -1)
        z = ground_surface(cpu, x, y)[0]
        if ceiling is not None:
            ceiling = cells[cell_y[start:start + chunk]][:, cell_x]
            z = torch.minimum(z, ceiling)
        data[start:start + chunk] = z.numpy()
    low, high = float(data.min()), float(data.max())
    elevation = high - low if high > low else terrain.vertical_scale
    data -= np.float32(low)
    data /= np.float32(elevation)
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

"""Flat-topped ground as boxes, for a simulator whose height field makes poor foot contacts (MuJoCo's hfield).

Two things go wrong when a Go2 foot (a 2.2 cm sphere) walks on a MuJoCo hfield (``shared/reference/terrain.md`` §5):
a riser becomes a ramp one sample wide (76 deg for a 10 cm step at 4 samples per cell) that a foot slides off
sideways, and a sphere about as large as the sample spacing meets many prisms at once (MuJoCo issues #236, #689),
so even on flat treads it gets stray contact normals. A toy-trained height-scan teacher crossed 10 cm stairs up
0 % of the time on the hfield, 60 % on boxes (AMD EPYC, 20 episodes). So, as mjlab builds its stairs and Miki et
al. 2022 theirs, the flat-topped ground becomes box geoms and the hfield keeps only the smooth, sloped ground:

* a **flat-topped cell** reads its own height over its whole square in the surface model (``field``): each of its
  8 neighbours is equal to it or across a riser (differs by more than ``Terrain.riser_min``). Stair treads,
  obstacle tops, the ground between them and plain flat ground are flat-topped; slopes and rough ground are not.
* ``ground_boxes`` merges flat-topped cells of equal height into rectangles (runs along y, stacked along x) and
  gives each a box from ``BOX_DEPTH_BELOW_M`` below the lowest ground up to the cells' height: its top and vertical
  faces are then exactly the surface model's treads and risers.
* ``box_ceiling`` is what the hfield must stay below in each cell: under a box, ``HFIELD_CLEARANCE_M`` below the
  lowest height of the cell's 3 x 3 neighbourhood, so the hfield never touches a foot on a box nor rises out of a
  lower cell beside one (+inf elsewhere). ``mujoco_hfield.hfield_spec(ceiling=...)`` clamps its samples to it.
  The walking ground (hfield and boxes, the higher of the two) then equals ``field.ground_surface`` on the
  boxes and at the hfield's samples, except within half a sample spacing of where a box meets a cell that is not
  flat-topped: there the hfield dips (a groove at the box's foot) or ramps up onto the box's top (from a higher
  cell across a riser, as everywhere on the hfield alone).

Pure numpy / torch; no mujoco import.
"""
from typing import Iterator, List, NamedTuple, Optional, Tuple

import numpy as np
import torch

from .field import Terrain

BOX_DEPTH_BELOW_M = 0.5
"""How far the boxes reach below the lowest ground of the field [m] (into the hfield's solid base)."""
HFIELD_CLEARANCE_M = 0.01
"""How far below a box's top (and its lower neighbours') the hfield is kept under it [m]."""


class GroundBoxes(NamedTuple):
    """Axis-aligned boxes in the world frame."""

    centres: np.ndarray
    """[K, 3] float64 centres [m]."""
    half_sizes: np.ndarray
    """[K, 3] float64 half sizes [m]."""


BLOCK_ROWS = 128
"""Rows per block when scanning the map: a few MB of temporaries at a time (the default map has 2.7 M cells)."""


def _blocks(heights: torch.Tensor) -> Iterator[Tuple[slice, torch.Tensor, List[torch.Tensor]]]:
    """(rows, their heights, views of their 8 neighbour heights) per block of BLOCK_ROWS rows (off-map cells read
    the edge, as the lookups do)."""
    padded = torch.nn.functional.pad(heights[None, None], (1, 1, 1, 1), mode="replicate")[0, 0]
    rows, cols = heights.shape
    for start in range(0, rows, BLOCK_ROWS):
        end = min(start + BLOCK_ROWS, rows)
        around = [padded[1 + di + start:1 + di + end, 1 + dj:1 + dj + cols]
                  for di in (-1, 0, 1) for dj in (-1, 0, 1) if (di, dj) != (0, 0)]
        yield slice(start, end), heights[start:end], around


def flat_top_cells(terrain: Terrain) -> torch.Tensor:
    """bool ``[rows, cols]``: the cells whose surface is flat at their own height (see the module)."""
    h = terrain.heights.to("cpu", torch.float32)
    riser = terrain.riser_min
    flat_top = torch.ones_like(h, dtype=torch.bool)
    for rows, own, around in _blocks(h):
        for n in around:
            flat_top[rows] &= (n == own) | ((n - own).abs() > riser)
    return flat_top


def box_ceiling(terrain: Terrain, flat_top: Optional[torch.Tensor] = None) -> torch.Tensor:
    """float32 ``[rows, cols]``: the height a MuJoCo hfield must stay below in each cell (see the module);
    ``flat_top``: ``flat_top_cells(terrain)`` if already computed."""
    h = terrain.heights.to("cpu", torch.float32)
    lowest = h.clone()
    for rows, _, around in _blocks(h):
        for n in around:
            torch.minimum(lowest[rows], n, out=lowest[rows])
    lowest -= HFIELD_CLEARANCE_M
    flat_top = flat_top_cells(terrain) if flat_top is None else flat_top
    return lowest.masked_fill_(~flat_top, float("inf"))


def _rectangles(mask: np.ndarray, heights: np.ndarray) -> List[Tuple[int, int, int, int, float]]:
    """(i0, i1, j0, j1, height) cell rectangles covering ``mask``, each of one height: runs of equal height along
    a row (j), merged with the same run in the following rows (i)."""
    rows = mask.shape[0]
    open_runs: dict = {}  # (j0, j1, height) -> first row
    out = []
    for i in range(rows + 1):
        runs = set()
        if i < rows:
            idx = np.flatnonzero(mask[i])
            if idx.size:
                z = heights[i, idx]
                breaks = np.flatnonzero((np.diff(idx) != 1) | (np.diff(z) != 0)) + 1
                starts = np.r_[0, breaks]
                ends = np.r_[breaks, idx.size]
                runs = set(zip(idx[starts].tolist(), (idx[ends - 1] + 1).tolist(), z[starts].tolist()))
        for key in [k for k in open_runs if k not in runs]:
            out.append((open_runs.pop(key), i) + key)
        for key in runs:
            open_runs.setdefault(key, i)
    return sorted(out)


def ground_boxes(terrain: Terrain, flat_top: Optional[torch.Tensor] = None) -> GroundBoxes:
    """Boxes covering the flat-topped cells of ``terrain`` (see the module); ``flat_top``: ``flat_top_cells(terrain)``
    if already computed."""
    heights = terrain.heights.to("cpu").numpy()
    flat_top = flat_top_cells(terrain) if flat_top is None else flat_top
    rects = _rectangles(flat_top.numpy(), heights)
    if not rects:
        return GroundBoxes(np.zeros((0, 3)), np.zeros((0, 3)))
    r = np.asarray(rects, dtype=np.float64)
    hs, corner = terrain.horizontal_scale, terrain.corner
    bottom = float(heights.min()) - BOX_DEPTH_BELOW_M
    x0, x1 = corner + r[:, 0] * hs, corner + r[:, 1] * hs
    y0, y1 = corner + r[:, 2] * hs, corner + r[:, 3] * hs
    top = r[:, 4]
    centres = np.stack(((x0 + x1) / 2, (y0 + y1) / 2, (top + bottom) / 2), -1)
    half_sizes = np.stack(((x1 - x0) / 2, (y1 - y0) / 2, (top - bottom) / 2), -1)
    return GroundBoxes(centres, half_sizes)

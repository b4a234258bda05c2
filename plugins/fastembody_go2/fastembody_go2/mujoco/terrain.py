"""go2-mujoco on rough terrain: the shared height field as MuJoCo geoms, spawn points, curriculum, local ground.

The ground is :mod:`fastembody_go2.terrain`'s array (``generate_terrain(params.terrain, seed)``, or a given
``Terrain`` such as an evaluation course) in the shared surface model, built from two kinds of geom that replace the
MJCF's ``floor`` plane (``ground_boxes`` true, the default): box geoms for the flat-topped ground
(``terrain.mujoco_boxes``: treads, obstacle tops and flat ground, vertical risers) and an hfield for the rest
(``terrain.mujoco_hfield.hfield_spec``, each cell as ``upsample`` x ``upsample`` samples of the surface, kept below
the boxes); with ``ground_boxes`` false the hfield alone, risers ramping over hs / upsample. Around them, when the
field's outer ring is level, four boxes topped at that level reach FRAME_MARGIN_M beyond it, so robots cannot walk
off the field (the torch lookups read the edge cell off the map: the same flat continuation). The hfield then keeps
``hfield_border`` metres (at least one cell) of the array's flat border, the frame replaces the rest. An array whose
cropped edge is not level (the evaluation courses continue their profile to the edge) is kept whole, without a
frame: its border is the margin.

Everything the task reads from the ground uses the torch lookups (``ground_height``, ``height_scan``), so base
height, falls and the height scan are bit-identical to go2-toy's on the same array. Spawning, the curriculum and
the env's state for resuming live in :class:`EnvTerrain` (the shared ``terrain/run_state.py``, as go2-toy's).
"""
import dataclasses
import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Callable, Optional, Tuple

import numpy as np
import torch

from fastembody_core import EnvError

from ..compiled import MaybeCompiled
from ..terrain.field import Terrain, ground_height
from ..terrain.generator import generate_terrain
from ..terrain.mujoco_hfield import HFieldSpec, hfield_spec, hfield_xml, write_hfield
from ..terrain.params import TerrainParams
from ..terrain.run_state import TerrainRunState
from ..terrain.mujoco_boxes import GroundBoxes, box_ceiling, flat_top_cells, ground_boxes
from ..terrain.scan import height_scan, scan_points
from .model import MODEL_PATH, configure_model, import_mujoco

HFIELD_NAME = "terrain"
FLOOR_GEOM = "floor"
FRAME_MARGIN_M = 200.0
"""How far the level boxes around the field reach [m] (a robot walks at most ~20-40 m in an episode)."""
FRAME_THICKNESS_M = 1.0
HFIELD_BASE_M = 1.0
"""Depth of the solid below the hfield's lowest point [m] (MuJoCo's base_z)."""
"""Robots spawn within +-this of their tile origin in x and y by default (legged_gym; go2-toy's value)."""
_FLOOR_KEYS_DROPPED = ("name", "type", "size", "pos", "quat", "euler", "axisangle", "xyaxes", "zaxis", "fromto",
                       "hfield", "mesh")


def frame_level(spec: HFieldSpec, terrain: Terrain) -> Optional[float]:
    """Height of the terrain's cells under the hfield's outer ring of samples [m] when they are all one height, else
    None (the cells, not the samples: under ground boxes the samples are kept below the ground)."""
    radius_x, radius_y = spec.size[:2]
    xs = spec.pos[0] + np.linspace(-radius_x, radius_x, spec.ncol)
    ys = spec.pos[1] + np.linspace(-radius_y, radius_y, spec.nrow)
    x = np.concatenate((xs, xs, np.full(spec.nrow, xs[0]), np.full(spec.nrow, xs[-1])))
    y = np.concatenate((np.full(spec.ncol, ys[0]), np.full(spec.ncol, ys[-1]), ys, ys))
    ring = ground_height(terrain.to("cpu"), torch.from_numpy(x).float(), torch.from_numpy(y).float())
    if float(ring.max() - ring.min()) > 1e-6:
        return None
    return float(ring[0])


def _frame_boxes(spec: HFieldSpec, level: float) -> Tuple[Tuple[Tuple[float, float, float], Tuple[float, ...]], ...]:
    """(centre, half sizes) of the four boxes around the field, topped at ``level``."""
    (cx, cy, _), (rx, ry) = spec.pos, spec.size[:2]
    x0, x1, y0, y1, m = cx - rx, cx + rx, cy - ry, cy + ry, FRAME_MARGIN_M
    z, hz = level - FRAME_THICKNESS_M / 2.0, FRAME_THICKNESS_M / 2.0
    return (((x0 - m / 2, cy, z), (m / 2, ry + m, hz)), ((x1 + m / 2, cy, z), (m / 2, ry + m, hz)),
            ((cx, y0 - m / 2, z), (rx, m / 2, hz)), ((cx, y1 + m / 2, z), (rx, m / 2, hz)))


def terrain_mjcf(path: Path, spec: HFieldSpec, level: Optional[float], boxes: Optional[GroundBoxes] = None) -> str:
    """The MJCF at ``path`` with its ``floor`` geom replaced by the hfield (and the level frame around it, and the
    flat-topped ground's ``boxes``).

    The new geoms take the floor's contact and visual attributes (contype, friction, material, ...); relative
    asset directories are made absolute, since the text is compiled without its file."""
    root = ET.parse(str(path)).getroot()
    worldbody = root.find("worldbody")
    floor = None if worldbody is None else next(
        (g for g in worldbody.findall("geom") if g.get("name") == FLOOR_GEOM), None)
    if floor is None:
        raise EnvError(f"MuJoCo model {path} has no world geom named {FLOOR_GEOM!r} to replace by the terrain")
    keep = " ".join(f'{k}="{v}"' for k, v in floor.attrib.items() if k not in _FLOOR_KEYS_DROPPED)
    asset_text, geom_text = hfield_xml(spec, HFIELD_NAME, keep)
    geoms = [ET.fromstring(geom_text)]

    def add_boxes(kind: str, placed: Any) -> None:
        for k, (centre, half) in enumerate(placed):
            box = ET.fromstring(f'<geom name="{HFIELD_NAME}_{kind}{k}" type="box" {keep}/>')
            box.set("pos", " ".join(repr(float(v)) for v in centre))
            box.set("size", " ".join(repr(float(v)) for v in half))
            geoms.append(box)

    if level is not None:
        add_boxes("frame", _frame_boxes(spec, level))
    if boxes is not None:
        add_boxes("box", zip(boxes.centres, boxes.half_sizes))
    at = list(worldbody).index(floor)
    worldbody.remove(floor)
    for offset, geom in enumerate(geoms):
        worldbody.insert(at + offset, geom)
    asset = root.find("asset")
    if asset is None:
        asset = ET.SubElement(root, "asset")
    asset.append(ET.fromstring(asset_text))
    compiler = root.find("compiler")
    if compiler is None:
        compiler = ET.Element("compiler")
        root.insert(0, compiler)
    for key in ("meshdir", "texturedir"):
        if compiler.get(key) is not None:
            compiler.set(key, str((path.parent / compiler.get(key)).resolve()))
    compiler.set("assetdir", str((path.parent / compiler.get("assetdir", ".")).resolve()))
    return ET.tostring(root, encoding="unicode")


def compile_mjcf(text: str) -> Any:
    """Compile MJCF text. Through ``MjSpec`` where MuJoCo has it (>= 3.2): ``MjModel.from_xml_string`` kept
    ~3x the hfield's size allocated after compiling (265 MB for the default map at upsample 4, MuJoCo 4.0)."""
    mujoco = import_mujoco()
    if not hasattr(mujoco, "MjSpec"):
        return mujoco.MjModel.from_xml_string(text)
    return mujoco.MjSpec.from_string(text).compile()


def load_terrain_model(physics: Any, terrain: Terrain, upsample: int, keep_border: float,
                       boxes: bool = True) -> Any:
    """The configured Go2 model standing on ``terrain`` (hfield data written, the flat-topped ground as boxes
    unless ``boxes`` is false; see the module)."""
    path = Path(getattr(physics, "model_file", None) or MODEL_PATH)
    if not path.is_file():
        raise EnvError(f"MuJoCo model file {path} not found")
    keep_border = max(float(keep_border), terrain.horizontal_scale)  # a level ring for the frame to join
    flat_top = flat_top_cells(terrain) if boxes else None
    ceiling = None if flat_top is None else box_ceiling(terrain, flat_top)
    spec = hfield_spec(terrain, upsample=upsample, base_z=HFIELD_BASE_M, keep_border=keep_border, ceiling=ceiling)
    level = frame_level(spec, terrain)
    if level is None:  # the edge is not level: keep the whole array, no frame
        spec = hfield_spec(terrain, upsample=upsample, base_z=HFIELD_BASE_M, ceiling=ceiling)
    try:
        model = compile_mjcf(terrain_mjcf(path, spec, level, None if flat_top is None else ground_boxes(terrain, flat_top)))
    except ValueError as exc:
        raise EnvError(f"cannot load MuJoCo model {path} with the terrain: {' '.join(str(exc).split())}") from None
    configure_model(model, physics)
    write_hfield(model, spec, HFIELD_NAME)
    return model


COMPILE_COPIES = 3
"""Copies of the hfield MuJoCo holds while compiling a model (``compile_mjcf``), on top of the models kept."""


def check_hfield_memory(params: Any, terrain: Optional[Terrain] = None) -> None:
    """ResourceError (one line, with the size) before any hfield is built if go2-mujoco's copies of it (one
    model per stepping thread, the env's own, and the compile-time copies) would not fit in memory."""
    from fastembody_core import check_memory

    from .driver import default_nthread

    if terrain is not None:
        cells_x, cells_y = (int(n) for n in terrain.heights.shape)
    else:
        t = params.terrain
        rows, cols = t.grid_cells
        kept = max(float(params.hfield_border), t.horizontal_scale)
        drop = max(0, t.border_cells - int(math.floor(kept / t.horizontal_scale + 1e-9)))
        cells_x, cells_y = rows - 2 * drop, cols - 2 * drop
    per_copy = 4 * cells_x * cells_y * int(params.hfield_upsample) ** 2
    copies = (params.nthread or default_nthread()) + 1 + COMPILE_COPIES
    check_memory(per_copy * copies, f"go2-mujoco's terrain ({cells_x} x {cells_y} cells at hfield_upsample "
                 f"{params.hfield_upsample}: {per_copy / 2**20:.0f} MB per MuJoCo model, {copies} copies)",
                 "lower env.params.hfield_upsample, or env.params.terrain.num_rows / num_cols")


def build_env_terrain(params: Any, seed: int, terrain: Optional[Terrain] = None,
                      spawn: Optional[Any] = None) -> Tuple[Any, "EnvTerrain"]:
    """(MjModel on the ground, EnvTerrain) of a ``Go2MujocoParams``: ``terrain``, else the generated one."""
    check_hfield_memory(params, terrain)
    ground = generate_terrain(params.terrain, int(seed)) if terrain is None else terrain
    model = load_terrain_model(params.physics, ground, params.hfield_upsample, params.hfield_border,
                               params.ground_boxes)
    return model, EnvTerrain(ground, params.terrain, int(params.num_envs), spawn)


def hfield_bytes(model: Any) -> int:
    """Bytes of hfield samples one MjModel copy holds (float32)."""
    return int(model.nhfielddata) * 4


class HeightScan:
    """legged_gym's height scan of ``params`` on ``terrain`` (on flat ground, the one-cell zero field: z 0
    everywhere); ``compile`` fuses it into one loop (eager, each op of a 4096 x 187 scan allocates a tensor)."""

    def __init__(self, params: TerrainParams, terrain: Terrain, compile: bool = False):
        self.terrain = terrain.to("cpu")
        self.points = scan_points(params)
        self.offset, self.clip = float(params.scan_offset), float(params.scan_clip)
        self._scan = MaybeCompiled(scan_bases, compile, "go2-mujoco")

    def __call__(self, state: np.ndarray, index: Any) -> torch.Tensor:
        """[N, P] clip(base_z - offset - ground_z, +-clip) [m] around the bases of the MuJoCo ``state`` rows
        (``index``: the env's SensorIndex), at the yaw-rotated scan points."""
        return self._scan(torch.from_numpy(state[:, index.base_pos]), torch.from_numpy(state[:, index.base_quat]),
                          self.terrain, self.points, self.offset, self.clip)


def scan_bases(base_pos: torch.Tensor, quat: torch.Tensor, terrain: Terrain, points: torch.Tensor, offset: float,
               clip: float) -> torch.Tensor:
    """``terrain.scan.height_scan`` around bases at ``base_pos`` [N, 3] with (w, x, y, z) ``quat`` [N, 4]."""
    w, x, y, z = quat.unbind(-1)
    yaw = torch.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)).float()
    return height_scan(terrain, base_pos.float(), yaw, points, offset, clip)


class EnvTerrain(TerrainRunState):
    """An env's terrain: the array (CPU), each env's tile (curriculum) and spawn point, in go2-toy's rules
    (:class:`~fastembody_go2.terrain.run_state.TerrainRunState`): the lowest foot above the highest ground under the
    base and the feet."""

    def __init__(self, terrain: Terrain, params: TerrainParams, num_envs: int, spawn: Optional[Any] = None):
        super().__init__(terrain, params, num_envs, "go2-mujoco", spawn)

    def under(self, xy: np.ndarray) -> torch.Tensor:
        """[N] ground z under the world points ``xy`` [N, 2] (float64 NumPy, e.g. the bases of MuJoCo states)."""
        xy = torch.from_numpy(xy).float()
        return ground_height(self.terrain, xy[:, 0], xy[:, 1])

    def place(self, ids: torch.Tensor, quat: torch.Tensor, height: torch.Tensor, foot_body: torch.Tensor,
              uniform: Callable[..., torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(xy [k, 2], quaternion [k, 4], base z [k]) of the envs ``ids`` moved from the flat spawn (yaw-only
        ``quat``, base z ``height`` over a floor at 0, body-frame feet ``foot_body`` [k, 4, 3]) onto their tiles."""
        xy, quat = self.spawn_points(ids, quat, uniform)
        return xy, quat, height + self.highest_ground(xy, quat, foot_body[..., :2])


def patch_spec(terrain: Terrain, centre: Tuple[float, float], cells: int, upsample: int) -> HFieldSpec:
    """The hfield of the ``cells`` x ``cells`` square of ``terrain`` around world ``centre`` (off-map cells read
    the edge, as the lookups do), placed where that square lies in the world."""
    hs = terrain.horizontal_scale
    i0 = int(math.floor((centre[0] - terrain.corner) / hs)) - cells // 2
    j0 = int(math.floor((centre[1] - terrain.corner) / hs)) - cells // 2
    rows = torch.arange(i0, i0 + cells).clamp(0, terrain.heights.shape[0] - 1)
    cols = torch.arange(j0, j0 + cells).clamp(0, terrain.heights.shape[1] - 1)
    patch = dataclasses.replace(terrain, heights=terrain.heights[rows][:, cols], border=0)
    spec = hfield_spec(patch, upsample=upsample, base_z=HFIELD_BASE_M)
    x, y, z = spec.pos
    return spec._replace(pos=(x + terrain.corner + i0 * hs, y + terrain.corner + j0 * hs, z))

"""Software frames of one go2-toy env: no OpenGL, only NumPy and matplotlib's Agg canvas.

Two layers, so the geometry is testable without pixels:

* :func:`robot_points` (pure): the world-frame points of one robot (trunk box corners, head, hip / thigh /
  knee / foot of each leg) from its base pose and joint angles, through :mod:`.kinematics`;
  :func:`scene_from_env` adds what the picture annotates (contacts, command, velocity, time);
  :class:`Camera` is a pinhole that tracks the base (:func:`tracking_camera`);
* :class:`SoftwareRenderer`: one matplotlib figure reused frame after frame; it projects the scene and draws
  a checkerboard ground (fixed in the world, so it scrolls as the robot walks), the trunk's shadow, the
  commanded (green) and measured (orange) velocity as arrows on the ground, the robot with painter's ordering
  (trunk faces back-face culled and shaded, legs hip -> thigh -> knee -> foot, feet red when in contact) and a
  text overlay.

On terrain (a :class:`HeightField`), the ground within ``NEAR_GROUND_M`` of the robot is drawn as go2-toy
flat-topped columns with vertical risers (:func:`column_ground`: a stair is a stair, not a ramp; a smooth slope
shows as 1-cell terraces though go2-toy simulates it as a plane);
the far ground is the checkerboard laid on the bilinear surface.
"""
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from fastembody_core import EnvError

from .. import robot

from .render_scene import (
    ARROW_SCALE,
    CALF_THICKNESS,
    THIGH_THICKNESS,
    Camera,
    FOOT_DRAW_RADIUS,
    HeightField,
    TILE_SIZE,
    Scene,
    _BOX_FACES,
    _FACE_NORMALS,
    checker_tiles,
    column_ground,
    ground_arrow,
    ground_height,
    scene_from_env,
    tracking_camera,
    yaw_of,
)

BACKGROUND = "#f4f6f8"
TILE_COLOURS = ((0.80, 0.83, 0.87), (0.93, 0.94, 0.96))
RISER_SHADE = 0.55
"""Risers are drawn as their tile's colour times this."""
NEAR_GROUND_M = 2.5
"""Half side of the square around the robot whose ground is drawn cell by cell on terrain."""
TRUNK_COLOUR = np.array([0.42, 0.50, 0.60])
HEAD_COLOUR = np.array([0.20, 0.24, 0.29])
LEG_COLOURS = {1.0: "#2d3a48", -1.0: "#4a6b8c"}  # left (+1) and right (-1) legs
CONTACT_COLOUR = "#d62728"
AIR_COLOUR = "#ffffff"
COMMAND_COLOUR = "#2ca02c"
VELOCITY_COLOUR = "#ff7f0e"


class SoftwareRenderer:
    """Draws :class:`Scene` s into a reused matplotlib figure (Agg canvas, no display, no OpenGL).

    ``follow_yaw``: the camera keeps a fixed angle to the robot's heading, smoothed over ``yaw_time_constant``
    seconds of episode time (walking wobbles the heading), so the robot is always seen from the front right;
    off, the camera azimuth is fixed in the world like MuJoCo's tracking camera. Either way the camera follows
    the base in x, y and the ground stays fixed in the world.
    """

    def __init__(self, terrain: Optional[HeightField] = None, follow_yaw: bool = True, azimuth: float = -1.05,
                 yaw_time_constant: float = 1.0, dpi: int = 100):
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
        except ImportError as exc:
            raise EnvError(f"go2-toy: render() needs matplotlib ({exc}); pip install matplotlib "
                           "(or fastembody-core[plot])") from None
        self._Figure, self._Canvas = Figure, FigureCanvasAgg
        self.terrain = terrain
        self.follow_yaw = follow_yaw
        self.azimuth = float(azimuth)
        self.yaw_time_constant = float(yaw_time_constant)
        self.dpi = int(dpi)
        self.size: Optional[Tuple[int, int]] = None
        self._camera_yaw: Dict[int, Tuple[float, float]] = {}  # env_id -> (time, smoothed yaw)
        self.last_camera: Optional[Camera] = None
        self._figure: Any = None
        self._atlas: Optional[GlyphAtlas] = None

    # -- figure and artists, built once per frame size --------------------------------------------------------
    def _build(self, width: int, height: int) -> None:
        from matplotlib.collections import PolyCollection
        from matplotlib.lines import Line2D
        from matplotlib.patches import Circle, Polygon

        self.close()
        fig = self._Figure(figsize=(width / self.dpi, height / self.dpi), dpi=self.dpi, facecolor=BACKGROUND)
        self._canvas = self._Canvas(fig)
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_xlim(0, width)
        ax.set_ylim(height, 0)
        ax.set_autoscale_on(False)
        ax.axis("off")
        self._figure, self._ax, self.size = fig, ax, (width, height)
        empty = np.zeros((1, 2))
        self._tiles = PolyCollection([], linewidths=0.0, antialiaseds=False, zorder=1)
        ax.add_collection(self._tiles)
        self._shadow = ax.add_patch(Polygon(empty, closed=True, facecolor="#000000", alpha=0.16, lw=0, zorder=2))
        self._command_arrow = ax.add_patch(Polygon(empty, closed=True, facecolor=COMMAND_COLOUR, alpha=0.55,
                                                   lw=0, zorder=3))
        self._yaw_arc = ax.add_line(Line2D([], [], color=COMMAND_COLOUR, alpha=0.7, lw=2.5, zorder=3,
                                           solid_capstyle="round"))
        self._yaw_head = ax.add_patch(Polygon(empty, closed=True, facecolor=COMMAND_COLOUR, alpha=0.7, lw=0,
                                              zorder=3))
        self._velocity_arrow = ax.add_patch(Polygon(empty, closed=True, facecolor=VELOCITY_COLOUR, alpha=0.95,
                                                    lw=0, zorder=3.5))
        self._faces = [ax.add_patch(Polygon(empty, closed=True, lw=1.0, edgecolor="#2b333c", joinstyle="round"))
                       for _ in _BOX_FACES]
        self._head_faces = [ax.add_patch(Polygon(empty, closed=True, lw=1.0, edgecolor="#1d2228",
                                                 joinstyle="round")) for _ in _BOX_FACES]
        self._upper = [ax.add_line(Line2D([], [], color=LEG_COLOURS[s], solid_capstyle="round",
                                          solid_joinstyle="round")) for s in robot.LEG_SIDE]
        self._lower = [ax.add_line(Line2D([], [], color=LEG_COLOURS[s], solid_capstyle="round"))
                       for s in robot.LEG_SIDE]
        self._knees = [ax.add_patch(Circle((0, 0), 1.0, facecolor="#9fb3c8", edgecolor=LEG_COLOURS[s], lw=1.0))
                       for s in robot.LEG_SIDE]
        self._feet = [ax.add_patch(Circle((0, 0), 1.0, edgecolor="#222222", lw=1.2)) for _ in range(4)]
        if self._atlas is None:
            self._atlas = GlyphAtlas(self._Figure, self._Canvas, dpi=self.dpi)

    def close(self) -> None:
        if self._figure is not None:
            self._figure.clear()
        self._figure, self.size = None, None

    # -- camera -------------------------------------------------------------------------------------------------
    def camera_for(self, scene: Scene, width: int, height: int) -> Camera:
        """The tracking camera of ``scene`` (updates the smoothed heading of its env)."""
        base = scene.robot.base
        azimuth = self.azimuth
        if self.follow_yaw:
            yaw = yaw_of(scene.robot.rotation)
            previous = self._camera_yaw.get(scene.env_id)
            if previous is not None and scene.time >= previous[0]:
                blend = 1.0 - math.exp(-(scene.time - previous[0]) / max(self.yaw_time_constant, 1e-6))
                yaw = previous[1] + blend * math.remainder(yaw - previous[1], 2 * math.pi)
            self._camera_yaw[scene.env_id] = (scene.time, yaw)
            azimuth += yaw
        ground = float(ground_height(self.terrain, base[0], base[1], smooth=True))
        return tracking_camera((base[0], base[1], ground + 0.2), azimuth, width, height)

    # -- one frame ------------------------------------------------------------------------------------------------
    def render(self, scene: Scene, width: int = 640, height: int = 480) -> np.ndarray:
        """RGB ``[height, width, 3]`` uint8 picture of ``scene``."""
        width, height = int(width), int(height)
        if width < 16 or height < 16:
            raise EnvError(f"go2-toy: render size must be at least 16x16, got {width}x{height}")
        if self.size != (width, height):
            self._build(width, height)
        cam = self.camera_for(scene, width, height)
        self.last_camera = cam
        self._draw_ground(cam, scene)
        self._draw_arrows(cam, scene)
        self._draw_robot(cam, scene)
        self._canvas.draw()
        rgba = np.asarray(self._canvas.buffer_rgba())
        frame = np.empty((height, width, 3), dtype=np.uint8)
        frame[...] = 255
        h, w = min(height, rgba.shape[0]), min(width, rgba.shape[1])  # Agg may round the size by a pixel
        frame[:h, :w] = rgba[:h, :w, :3]
        self._draw_text(frame, scene)
        return frame

    def _ground_points(self, xy: np.ndarray, lift: float = 0.0, smooth: bool = False) -> np.ndarray:
        z = ground_height(self.terrain, xy[..., 0], xy[..., 1], smooth=smooth) + lift
        return np.concatenate((xy, z[..., None]), axis=-1)

    def _draw_ground(self, cam: Camera, scene: Scene) -> None:
        ahead = cam.forward[:2] / max(np.linalg.norm(cam.forward[:2]), 1e-9)
        centre = cam.position[:2] + 4.0 * ahead
        corners_xy, parity = checker_tiles(centre, 4.5)
        riser = np.zeros(len(parity), bool)
        if self.terrain is None:
            corners = self._ground_points(corners_xy)
        else:  # near the robot: columns and risers; elsewhere: tiles on the smooth surface
            near = column_ground(self.terrain, scene.robot.base[:2], NEAR_GROUND_M)
            tile_ids = np.floor(corners_xy.mean(1) / TILE_SIZE).astype(int)
            far = ~(tile_ids[:, None, :] == near.tiles[None]).all(-1).any(-1) if len(near.tiles) else \
                np.ones(len(parity), bool)
            corners = np.concatenate([self._ground_points(corners_xy[far], smooth=True), near.quads])
            parity = np.concatenate([parity[far], near.parity])
            riser = np.concatenate([riser[far], near.riser])
        pixels, depth = cam.project(corners)
        w, h = cam.width, cam.height
        keep = (depth > 0.05).all(-1)
        keep &= ~((pixels[..., 0] < 0).all(-1) | (pixels[..., 0] > w).all(-1) | (pixels[..., 1] < 0).all(-1)
                  | (pixels[..., 1] > h).all(-1))
        pixels, depth, parity, riser = pixels[keep], depth[keep], parity[keep], riser[keep]
        order = np.argsort(-depth.mean(-1), kind="stable")  # far faces first (matters on a height field)
        mean_depth = depth.mean(-1)[order]
        fog = np.clip((mean_depth - 2.0) / 6.0, 0.0, 1.0)[:, None]
        base = np.asarray(TILE_COLOURS)[parity[order]] * np.where(riser[order], RISER_SHADE, 1.0)[:, None]
        background = np.asarray(_rgb(BACKGROUND))
        colours = base * (1 - fog) + background * fog
        self._tiles.set_verts(list(pixels[order]))
        self._tiles.set_facecolors(colours)
        trunk = scene.robot.trunk
        bottom = trunk[[0, 4, 6, 2]]  # -z corners, around
        footprint = self._ground_points(bottom[:, :2] + 0.02 * np.sign(bottom[:, :2] - scene.robot.base[:2]),
                                        lift=0.002)
        self._shadow.set_xy(cam.project(footprint)[0])

    def _draw_arrows(self, cam: Camera, scene: Scene) -> None:
        start = scene.robot.base[:2]
        yaw = yaw_of(scene.robot.rotation)
        c, s = math.cos(yaw), math.sin(yaw)
        vx, vy, yaw_rate = (float(v) for v in scene.command)
        command = ARROW_SCALE * np.array([c * vx - s * vy, s * vx + c * vy])
        velocity = ARROW_SCALE * np.asarray(scene.velocity[:2], dtype=np.float64)
        for patch, vector, width in ((self._command_arrow, command, 0.06), (self._velocity_arrow, velocity, 0.03)):
            outline = self._ground_points(ground_arrow(start, vector, width), lift=0.004)
            patch.set_xy(cam.project(outline)[0])
            patch.set_visible(bool(np.hypot(*vector) > 0.01))
        # yaw-rate command: an arc around the base, length proportional to the rate
        sweep = float(np.clip(yaw_rate, -1.5, 1.5)) * 1.6
        visible = abs(sweep) > 0.05
        self._yaw_arc.set_visible(visible)
        self._yaw_head.set_visible(visible)
        if visible:
            radius = 0.42
            angles = yaw + np.linspace(0.0, sweep, 24)
            arc = start + radius * np.stack((np.cos(angles), np.sin(angles)), -1)
            tip = angles[-1]
            tangent = np.sign(sweep) * np.array([-math.sin(tip), math.cos(tip)])
            radial = np.array([math.cos(tip), math.sin(tip)])
            end = arc[-1]
            head = np.array([end + 0.06 * tangent, end + 0.035 * radial, end - 0.035 * radial])
            self._yaw_arc.set_data(*cam.project(self._ground_points(arc, 0.004))[0].T)
            self._yaw_head.set_xy(cam.project(self._ground_points(head, 0.004))[0])

    def _draw_robot(self, cam: Camera, scene: Scene) -> None:
        r = scene.robot
        to_points = 72.0 / self.dpi
        items: List[Tuple[float, List[Any]]] = []  # (depth, artists drawn together), painter's order

        light = np.array([0.35, -0.45, 0.82])
        light /= np.linalg.norm(light)
        for corners, patches, colour in ((r.trunk, self._faces, TRUNK_COLOUR), (r.head, self._head_faces,
                                                                                HEAD_COLOUR)):
            px, depth = cam.project(corners)
            visible_faces = []
            for patch, face, normal_b in zip(patches, _BOX_FACES, _FACE_NORMALS):  # a convex box: culling suffices
                normal = r.rotation @ normal_b
                visible = float(normal @ (cam.position - corners[list(face)].mean(0))) > 0
                patch.set_visible(visible)
                if visible:
                    patch.set_xy(px[list(face)])
                    shade = 0.55 + 0.45 * max(0.0, float(normal @ light))
                    patch.set_facecolor(np.clip(colour * shade + 0.08, 0, 1))
                    visible_faces.append(patch)
            items.append((float(depth.mean()), visible_faces))

        for leg in range(4):
            chain = np.stack((r.hips[leg], r.thighs[leg], r.knees[leg], r.feet[leg]))
            px, depth = cam.project(chain)
            scale = cam.pixels_per_metre(depth)
            upper, lower = self._upper[leg], self._lower[leg]
            upper.set_data(px[:3, 0], px[:3, 1])
            upper.set_linewidth(THIGH_THICKNESS * float(scale[:3].mean()) * to_points)
            lower.set_data(px[2:, 0], px[2:, 1])
            lower.set_linewidth(CALF_THICKNESS * float(scale[2:].mean()) * to_points)
            knee = self._knees[leg]
            knee.set_center(tuple(px[2]))
            knee.set_radius(0.45 * THIGH_THICKNESS * float(scale[2]))
            foot = self._feet[leg]
            foot.set_center(tuple(px[3]))
            foot.set_radius(FOOT_DRAW_RADIUS * float(scale[3]))
            foot.set_facecolor(CONTACT_COLOUR if scene.contacts[leg] else AIR_COLOUR)
            items.append((float(depth[1:].mean()), [upper, lower, knee, foot]))

        for rank, (_, artists) in enumerate(sorted(items, key=lambda item: -item[0])):
            for k, artist in enumerate(artists):
                artist.set_zorder(10 + rank + 0.1 * k)

    def _draw_text(self, frame: np.ndarray, scene: Scene) -> None:
        """The overlay, blitted from a glyph atlas (matplotlib's text layout would take ~60% of a frame)."""
        assert self._atlas is not None
        vx, vy, yaw_rate = (float(v) for v in scene.command)
        velocity = np.asarray(scene.velocity, dtype=np.float64)
        body = scene.robot.rotation.T @ velocity
        ground = float(ground_height(self.terrain, scene.robot.base[0], scene.robot.base[1]))
        lines = [
            f"go2-toy  env {scene.env_id}   t = {scene.time:5.2f} s",
            f"command  vx {vx:+.2f}  vy {vy:+.2f} m/s  yaw {yaw_rate:+.2f} rad/s",
            f"measured vx {body[0]:+.2f}  vy {body[1]:+.2f} m/s  speed {float(np.hypot(*velocity[:2])):.2f} m/s",
            f"base height {scene.robot.base[2] - ground:.2f} m",
        ]
        atlas = self._atlas
        atlas.panel(frame, 6, 6, lines, [(0.1, 0.1, 0.1)] * len(lines))
        legend = ["\u25b6 command", "\u25b6 velocity", "\u25cf foot in contact", "\u25cb foot in air"]
        colours = [_rgb(COMMAND_COLOUR), _rgb(VELOCITY_COLOUR), _rgb(CONTACT_COLOUR), (0.27, 0.27, 0.27)]
        width = max(len(line) for line in legend) * atlas.cell_width + 2 * atlas.pad
        atlas.panel(frame, frame.shape[1] - 6 - width, 6, legend, colours)


def _rgb(colour: str) -> Tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    return to_rgb(colour)


class GlyphAtlas:
    """A monospace font rendered once by matplotlib into per-character coverage cells, blitted with NumPy."""

    CHARS = "".join(chr(c) for c in range(32, 127)) + "\u25b6\u25cf\u25cb\u00b0"

    def __init__(self, figure_cls: Any, canvas_cls: Any, fontsize: float = 10.0, dpi: int = 100, pad: int = 5):
        from matplotlib.font_manager import FontProperties

        prop = FontProperties(family="monospace", size=fontsize)
        probe = canvas_cls(figure_cls(figsize=(1, 1), dpi=dpi)).get_renderer()
        advance = probe.get_text_width_height_descent("M" * 20, prop, ismath=False)[0] / 20.0
        self.cell_width = int(math.ceil(advance))
        self.cell_height = int(math.ceil(1.35 * fontsize * dpi / 72.0))
        self.pad = pad
        width = self.cell_width * len(self.CHARS)
        fig = figure_cls(figsize=(width / dpi, self.cell_height / dpi), dpi=dpi, facecolor="white")
        canvas = canvas_cls(fig)
        baseline = 0.24  # fraction of the cell height below the baseline
        for i, ch in enumerate(self.CHARS):
            fig.text(i * self.cell_width / width, baseline, ch, fontproperties=prop, color="black", va="baseline",
                     ha="left")
        canvas.draw()
        grey = np.asarray(canvas.buffer_rgba())[:self.cell_height, :width, :3].astype(np.float32).mean(-1)
        coverage = 1.0 - grey / 255.0
        self.cells = {ch: coverage[:, i * self.cell_width:(i + 1) * self.cell_width]
                      for i, ch in enumerate(self.CHARS)}
        fig.clear()

    def coverage(self, text: str) -> np.ndarray:
        unknown = self.cells["?"]
        return np.concatenate([self.cells.get(ch, unknown) for ch in text], axis=1)

    def panel(self, frame: np.ndarray, x: int, y: int, lines: Sequence[str], colours: Sequence[Sequence[float]],
              background: float = 1.0, opacity: float = 0.8) -> None:
        """Draw ``lines`` at pixel ``(x, y)`` (top left) on a translucent box, in place on ``frame`` (uint8 RGB)."""
        height, width = frame.shape[:2]
        box_w = max(len(line) for line in lines) * self.cell_width + 2 * self.pad
        box_h = len(lines) * self.cell_height + 2 * self.pad
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + box_w, width), min(y + box_h, height)
        if x1 <= x0 or y1 <= y0:
            return
        region = frame[y0:y1, x0:x1].astype(np.float32)
        region += opacity * (255.0 * background - region)
        for k, (line, colour) in enumerate(zip(lines, colours)):
            if not line:
                continue
            cov = self.coverage(line)
            top, left = y + self.pad + k * self.cell_height - y0, x + self.pad - x0
            r0, c0 = max(top, 0), max(left, 0)
            r1, c1 = min(top + cov.shape[0], region.shape[0]), min(left + cov.shape[1], region.shape[1])
            if r1 <= r0 or c1 <= c0:
                continue
            a = cov[r0 - top:r1 - top, c0 - left:c1 - left, None]
            target = region[r0:r1, c0:c1]
            target += a * (255.0 * np.asarray(colour, dtype=np.float32) - target)
        frame[y0:y1, x0:x1] = np.clip(region + 0.5, 0, 255).astype(np.uint8)


def render_env(renderer: SoftwareRenderer, env: Any, env_id: int = 0, width: int = 640, height: int = 480
               ) -> np.ndarray:
    """A frame of env ``env_id`` of a go2-toy env."""
    return renderer.render(scene_from_env(env, env_id), width, height)

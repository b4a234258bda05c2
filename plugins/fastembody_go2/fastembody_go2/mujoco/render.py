"""Offscreen frames of one go2-mujoco env (``mujoco.Renderer``; the GL backend is chosen by MUJOCO_GL)."""
import os
from pathlib import Path
from typing import Any, Optional, Tuple

import numpy as np

from fastembody_core import EnvError

from .gl import MUJOCO_GL_HINT
from .model import MODEL_PATH, configure_model, import_mujoco


class RenderError(EnvError):
    """No offscreen OpenGL context could be made."""


class FrameRenderer:
    """Renders the robot of one env from a state vector, with the tracking camera of the model."""

    def __init__(self, model: Any, width: int, height: int, camera: str = "track"):
        mujoco = import_mujoco()
        self._mujoco = mujoco
        self.size: Tuple[int, int] = (int(width), int(height))
        self.camera = camera
        self._data = mujoco.MjData(model)
        width = min(int(width), int(model.vis.global_.offwidth))
        height = min(int(height), int(model.vis.global_.offheight))
        try:
            self._renderer = mujoco.Renderer(model, height=height, width=width)
        except Exception as exc:  # GL libraries missing, no display for glfw, ...
            backend = os.environ.get("MUJOCO_GL", "<unset>")
            raise RenderError(
                f"cannot render offscreen with MUJOCO_GL={backend} ({type(exc).__name__}: "
                f"{' '.join(str(exc).split())[:160]}); {MUJOCO_GL_HINT}"
            ) from None

    def render(self, model: Any, state: np.ndarray) -> np.ndarray:
        """RGB ``[height, width, 3]`` uint8 of ``model`` in the FULLPHYSICS ``state``."""
        mj = self._mujoco
        mj.mj_setState(model, self._data, np.asarray(state, dtype=np.float64), mj.mjtState.mjSTATE_FULLPHYSICS)
        mj.mj_forward(model, self._data)
        self._renderer.update_scene(self._data, camera=self.camera)
        return self._renderer.render().copy()

    def close(self) -> None:
        renderer, self._renderer = getattr(self, "_renderer", None), None
        if renderer is not None and hasattr(renderer, "close"):
            renderer.close()


class TerrainFrameRenderer:
    """Frames of one env on rough terrain, drawn on a PATCH_M-wide patch of the hfield that follows the robot.

    Software GL cannot draw the whole field every frame (the default map at upsample 4 took ~9 s a frame here),
    so a render-only model holds the robot and a patch hfield cut from the torch array (flat-topped cells as the
    physics hfield, at most RENDER_UPSAMPLE samples per cell), re-cut and re-uploaded whenever the base gets
    RECENTRE_M from its centre.
    """

    PATCH_M = 16.0
    """Side of the drawn patch [m]."""
    RECENTRE_M = 3.0
    """The patch is re-cut when the base is this far from its centre [m]."""
    RENDER_UPSAMPLE = 2
    """Samples per cell drawn (software GL: ~0.1 s a 640 x 480 frame at 2, ~0.3 s at 4)."""

    def __init__(self, physics: Any, terrain: Any, upsample: int, width: int, height: int, camera: str = "track"):
        """``upsample``: samples per cell to draw (at most RENDER_UPSAMPLE are)."""
        from .terrain import HFIELD_NAME, compile_mjcf, patch_spec, terrain_mjcf

        mujoco = import_mujoco()
        self._mujoco, self._terrain, self._upsample = mujoco, terrain, min(int(upsample), self.RENDER_UPSAMPLE)
        self._cells = max(2, int(round(self.PATCH_M / terrain.horizontal_scale)))
        self._patch_spec = patch_spec
        self._centre: Optional[Tuple[float, float]] = None
        spec = patch_spec(terrain, (0.0, 0.0), self._cells, self._upsample)
        path = Path(getattr(physics, "model_file", None) or MODEL_PATH)
        self.model = compile_mjcf(terrain_mjcf(path, spec, None))
        configure_model(self.model, physics)
        self._hfield = int(self.model.hfield(HFIELD_NAME).id)
        self._geom = int(self.model.geom(HFIELD_NAME).id)
        self.model.geom_sameframe[self._geom] = 0  # MuJoCo ignores geom_pos of a geom compiled at its body's frame
        self._write(spec)
        self._frames = FrameRenderer(self.model, width, height, camera)
        self.size = self._frames.size

    def _write(self, spec: Any) -> None:
        start = int(self.model.hfield_adr[self._hfield])
        self.model.hfield_data[start:start + spec.data.size] = spec.data
        self.model.hfield_size[self._hfield] = spec.size
        self.model.geom_pos[self._geom] = spec.pos

    def _recentre(self, x: float, y: float) -> None:
        self._centre = (x, y)
        self._write(self._patch_spec(self._terrain, self._centre, self._cells, self._upsample))
        renderer = self._frames._renderer
        context, gl = getattr(renderer, "_mjr_context", None), getattr(renderer, "_gl_context", None)
        if context is not None:
            if gl is not None:
                gl.make_current()
            self._mujoco.mjr_uploadHField(self.model, context, self._hfield)
        else:  # no handle on the GL context: build a new renderer (slower, same picture)
            width, height = self.size
            camera = self._frames.camera
            self._frames.close()
            self._frames = FrameRenderer(self.model, width, height, camera)

    def render(self, model: Any, state: np.ndarray) -> np.ndarray:
        """RGB ``[height, width, 3]`` of the robot in the FULLPHYSICS ``state`` (time, qpos, qvel) on the patch
        around it (``model`` is unused: the render model carries the patch)."""
        x, y = float(state[1]), float(state[2])  # the free joint's position leads qpos
        if self._centre is None or max(abs(x - self._centre[0]), abs(y - self._centre[1])) > self.RECENTRE_M:
            self._recentre(x, y)
        return self._frames.render(self.model, state)

    def close(self) -> None:
        self._frames.close()

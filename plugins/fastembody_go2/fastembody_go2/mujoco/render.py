"""Offscreen frames of one go2-mujoco env (``mujoco.Renderer``; the GL backend is chosen by MUJOCO_GL)."""
import os
from typing import Any, Tuple

import numpy as np

from fastembody_core import MUJOCO_GL_HINT, EnvError

from .model import import_mujoco


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

"""MuJoCo's offscreen GL backend, chosen before ``import mujoco`` (which fails outright when the chosen backend's
libraries are missing): go2-mujoco's factory calls :func:`prepare_render_backend` when the run will draw frames
(``RunContext.render``)."""
import os
import subprocess
import sys

MUJOCO_GL_HINT = (
    "set MUJOCO_GL=egl (GPU or Mesa EGL; apt install libegl1 libgl1) or MUJOCO_GL=osmesa (software; apt install "
    "libosmesa6) before starting Python; MUJOCO_GL=glfw needs a display"
)
"""What to do when MuJoCo cannot render offscreen."""
_PROBE = "import mujoco; mujoco.Renderer(mujoco.MjModel.from_xml_string('<mujoco/>'), 8, 8).close()"


def prepare_render_backend() -> str:
    """Pick the backend (MUJOCO_GL defaults to egl on Linux), try it in a subprocess; return "" or why there will be
    no frames. On failure, and before mujoco is imported here, MUJOCO_GL becomes glfw, which imports without a
    display (nothing is rendered in this process), so the run itself goes on."""
    if "mujoco" in sys.modules:
        return ""  # too late to choose: the renderer reports its own failure
    if sys.platform.startswith("linux") and "MUJOCO_GL" not in os.environ:
        os.environ["MUJOCO_GL"] = "egl"
    backend = os.environ.get("MUJOCO_GL", "<unset>")
    try:
        probe = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120)
        failed, detail = probe.returncode != 0, (probe.stderr.strip().splitlines() or [""])[-1]
    except (OSError, subprocess.SubprocessError) as exc:
        failed, detail = True, f"{type(exc).__name__}: {exc}"
    if not failed:
        return ""
    os.environ["MUJOCO_GL"] = "glfw"
    return f"cannot render offscreen with MUJOCO_GL={backend} ({' '.join(detail.split())[:160]}); {MUJOCO_GL_HINT}"

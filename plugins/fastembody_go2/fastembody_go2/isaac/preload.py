"""Imported by the pipeline BEFORE torch when a config names an Isaac Gym env (``isaac``, ``go2-isaac``).

Isaac Gym's bindings refuse to load once torch is in the process ("PyTorch was imported before isaacgym
modules"), so this module loads them first. A missing or broken isaacgym, legged_gym or rsl_rl becomes one
:class:`fastembody_core.EnvError` line saying what to install and how (see docs/isaac_gym.md), instead of an
ImportError traceback. Importing this module is the check; :func:`ensure_isaacgym` repeats it.
"""
import importlib
import importlib.util
import sys
from typing import List, Optional, Sequence

from fastembody_core import EnvError

DOCS = "docs/isaac_gym.md"
ISAAC_GYM_PYTHONS = ((3, 6), (3, 7), (3, 8))
"""CPython versions Isaac Gym Preview 4 ships bindings for (gym_36/37/38.so)."""
REQUIRED_MODULES = ("isaacgym", "legged_gym", "rsl_rl")
"""Top-level packages the Isaac envs import: Isaac Gym, legged_gym (from unitree_rl_gym) and rsl_rl v1.0.2."""

_HOW_TO_INSTALL = {
    "isaacgym": "Isaac Gym Preview 4 from NVIDIA (https://developer.nvidia.com/isaac-gym; then pip install -e "
                "isaacgym/python)",
    "legged_gym": "unitree_rl_gym, which provides legged_gym (git clone https://github.com/unitreerobotics/"
                  "unitree_rl_gym && pip install -e unitree_rl_gym; or legged_gym itself from "
                  "https://github.com/leggedrobotics/legged_gym with pip install -e . for its own tasks)",
    "rsl_rl": "rsl_rl v1.0.2, which legged_gym imports (git clone -b v1.0.2 https://github.com/leggedrobotics/"
              "rsl_rl && pip install -e rsl_rl)",
}


def _python() -> str:
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def missing_dependencies_message(missing: Sequence[str], detail: str = "") -> str:
    """One line: what is missing, what to install and how (Python 3.8, numpy<1.24), and where the docs are."""
    names = [m for m in REQUIRED_MODULES if m in missing] + [m for m in missing if m not in REQUIRED_MODULES]
    steps = [_HOW_TO_INSTALL[m] for m in REQUIRED_MODULES if m in names]
    python = "" if sys.version_info[:2] in ISAAC_GYM_PYTHONS else f" (this is Python {_python()})"
    because = f" ({detail})" if detail else ""
    return (
        f"the Isaac Gym envs (isaac, go2-isaac) need {', '.join(names)}, which cannot be imported{because}; "
        f"in a Python 3.8 environment{python}, install {'; '.join(steps)}; pin 'numpy<1.24'; and install "
        f"fastembody-core, fastembody-ppo and fastembody-go2 into that same environment; see {DOCS}"
    )


def _missing_modules() -> List[str]:
    missing = []
    for name in REQUIRED_MODULES:
        if name in sys.modules:
            continue
        try:
            if importlib.util.find_spec(name) is None:
                missing.append(name)
        except (ImportError, ValueError):
            missing.append(name)
    return missing


def _explain_import_error(exc: BaseException) -> Optional[str]:
    """A specific one-line fix for the ways ``import isaacgym`` fails when it is installed."""
    text = " ".join(str(exc).split())
    if "PyTorch was imported before isaacgym" in text:
        return (
            "isaacgym must be imported before torch, but torch was imported first; start training with "
            "`fastembody run <config>` (it imports fastembody_go2.isaac.preload first) or put "
            f"`import isaacgym` above every torch import in your script; see {DOCS}"
        )
    if "libpython" in text:
        return (
            f"isaacgym is installed but its bindings cannot load: {text}; add the Python 3.8 library folder to "
            f"the loader path, e.g. export LD_LIBRARY_PATH=$CONDA_PREFIX/lib:$LD_LIBRARY_PATH; see {DOCS}"
        )
    return None


def ensure_isaacgym() -> None:
    """Import Isaac Gym's bindings (before torch) and check legged_gym and rsl_rl are installed."""
    if "isaacgym" not in sys.modules and "torch" in sys.modules:
        raise EnvError(_explain_import_error(ImportError("PyTorch was imported before isaacgym")) or "")
    missing = _missing_modules()
    if "isaacgym" not in missing:
        try:
            importlib.import_module("isaacgym")
            importlib.import_module("isaacgym.gymapi")
            importlib.import_module("isaacgym.gymutil")
        except Exception as exc:  # ImportError, or OSError from the bindings' shared libraries
            specific = _explain_import_error(exc)
            if specific:
                raise EnvError(specific) from None
            detail = f"import isaacgym failed: {type(exc).__name__}: {' '.join(str(exc).split())}"
            raise EnvError(missing_dependencies_message(["isaacgym"] + missing, detail)) from None
    if missing:
        raise EnvError(missing_dependencies_message(missing))


ensure_isaacgym()

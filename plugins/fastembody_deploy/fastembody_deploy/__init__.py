"""fastembody-deploy: run a FastEmbody policy bundle on a Unitree Go2 (torch-free).

* :func:`~fastembody_deploy.bundle.load_bundle` reads and checks a bundle; :class:`~.bundle.OnnxPolicy` runs it;
* :class:`~fastembody_deploy.observation.ObservationBuilder` builds the policy's input from the low-level state
  exactly as the manifest says;
* :class:`~fastembody_deploy.state_machine.SafetyStateMachine`: passive -> stand up -> policy -> damping;
* :class:`~fastembody_deploy.runner.Runner`: the fixed-rate control loop over a :class:`~.runner.RobotIO`
  (:mod:`fastembody_deploy.dds`: the Go2 or go2-mujoco over DDS);
* ``fastembody-deploy BUNDLE`` on the robot, ``fastembody deploy BUNDLE --sim`` with the core installed.
"""
import importlib
from typing import Any

__version__ = "0.1.0"
_LAZY = {"Bundle": "bundle", "OnnxPolicy": "bundle", "load_bundle": "bundle", "DeployError": "errors"}
"""Imported on first access: the ``fastembody deploy`` plugin module (loaded with every CLI start) stays light."""
__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

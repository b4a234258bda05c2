"""Stand-in of ``isaacgym.gymutil``: device strings and the sim-config parser legged_gym calls."""
from typing import Any, Dict, Tuple

from isaacgym import gymapi


def parse_device_str(device_str: str) -> Tuple[str, int]:
    """``"cuda:1"`` -> ("cuda", 1); ``"cpu"`` -> ("cpu", 0)."""
    device, device_id = "cpu", 0
    if device_str == "cpu" or device_str == "cuda":
        device = device_str
    else:
        kind, _, index = device_str.partition(":")
        if kind != "cuda" or not index.isdigit():
            raise ValueError(f"Invalid device string {device_str!r}")
        device, device_id = kind, int(index)
    return device, device_id


def parse_sim_config(cfg: Dict[str, Any], sim_params: gymapi.SimParams) -> None:
    """Copy ``cfg`` (legged_gym's ``class_to_dict(env_cfg.sim)``) onto ``sim_params``."""
    for key, value in cfg.items():
        if key == "physx":
            for name, item in value.items():
                setattr(sim_params.physx, name, item)
        elif key == "up_axis":
            sim_params.up_axis = gymapi.UP_AXIS_Z if value == 1 else gymapi.UP_AXIS_Y
        elif key == "gravity":
            sim_params.gravity = tuple(value)
        else:
            setattr(sim_params, key, value)

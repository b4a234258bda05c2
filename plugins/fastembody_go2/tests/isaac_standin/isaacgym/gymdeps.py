"""Stand-in of Isaac Gym's gymdeps: its bindings refuse to load once torch is in the process."""
import sys


def _import_deps() -> None:
    # make sure that torch was not imported before isaacgym modules (the real message, two spaces included)
    if "torch" in sys.modules:
        raise ImportError("PyTorch was imported before isaacgym modules.  Please import torch after isaacgym modules.")


_import_deps()

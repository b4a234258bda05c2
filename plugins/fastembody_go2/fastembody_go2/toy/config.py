"""Parameters of the go2-toy env (torch-free: configs validate without importing torch)."""
from dataclasses import dataclass, field

from fastembody_core import ConfigError, check_fraction, check_positive

from .. import robot
from ..task_params import Go2TaskParams, coerce_block


@dataclass
class PhysicsParams:
    """The toy model's physical constants (see docs/go2_toy.md)."""

    kp: float = robot.KP
    """PD stiffness [N·m/rad]."""
    kd: float = robot.KD
    """PD damping [N·m·s/rad]."""
    knee_torque_limit: float = 35.55
    """Knee torque limit [N·m] (35.55 URDF; 45.43 Menagerie). Hip and thigh: 23.7."""
    ground_stiffness: float = 1.0e4
    """Normal contact stiffness per foot [N/m] (3.7 mm sink standing on four feet)."""
    ground_damping: float = 150.0
    """Normal contact damping per foot [N·s/m]."""
    tangential_stiffness: float = 5.0e3
    """Stick-slip anchor spring of a stance foot [N/m]."""
    tangential_damping: float = 50.0
    """Tangential damping of a stance foot [N·s/m]."""
    joint_damping: float = 0.1
    """Viscous joint friction [N·m·s/rad]."""
    joint_friction: float = 0.2
    """Coulomb joint friction, smoothed by tanh(q̇ / 0.1) [N·m]."""

    def __post_init__(self) -> None:
        for name in ("kp", "knee_torque_limit", "ground_stiffness", "tangential_stiffness"):
            check_positive(getattr(self, name), name)
        for name in ("kd", "ground_damping", "tangential_damping", "joint_damping", "joint_friction"):
            check_positive(getattr(self, name), name, allow_zero=True)


@dataclass
class Go2ToyParams(Go2TaskParams):
    """The go2-toy env: a batched pure-PyTorch Unitree Go2 with the unitree_rl_gym task (the shared fields are
    :class:`~fastembody_go2.task_params.Go2TaskParams`')."""

    physics: PhysicsParams = field(default_factory=PhysicsParams)
    """PD gains, contact and joint-friction constants."""
    height_scan_dropout: float = 0.0
    """Fraction of episodes (drawn per env at each reset) in which the ``policy`` group's height scan is hidden:
    every point reads the scan's mean, i.e. flat ground (the ``critic`` still sees the terrain). A teacher trained so
    must also walk on ground it did not see and recover from the steps it meets, which its blind student can copy
    (Miki et al. 2022 train on corrupted maps). Needs ``height_scan_in_policy``; distil with it 0."""

    def __post_init__(self) -> None:
        super().__post_init__()
        coerce_block(self, "physics", PhysicsParams)
        self.height_scan_dropout = check_fraction(self.height_scan_dropout, "height_scan_dropout")
        if self.height_scan_dropout > 0 and not self.height_scan_in_policy:
            raise ConfigError("hides the policy's height scan: needs height_scan_in_policy: true",
                              key="height_scan_dropout")

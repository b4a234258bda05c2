"""Parameters of the go2-toy env (torch-free: configs validate without importing torch)."""
from dataclasses import dataclass, field
from typing import Optional

from fastembody_core import ConfigError

from .. import robot
from ..checks import check_positive
from ..task_params import CommandParams, RandomizationParams, RewardParams, check_course
from ..terrain.course_specs import CourseName
from ..terrain.params import TerrainParams


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
class Go2ToyParams:
    """The go2-toy env: a batched pure-PyTorch Unitree Go2 with the unitree_rl_gym task."""

    num_envs: int = 4096
    """Number of robots simulated together."""
    device: Optional[str] = None
    """Torch device of the env ("cpu", "cuda", "cuda:1"); None uses the run's device."""
    episode_length_s: float = 20.0
    """Episode length [s] (50 policy steps per second)."""
    commands: CommandParams = field(default_factory=CommandParams)
    """Velocity command ranges and resampling."""
    rewards: RewardParams = field(default_factory=RewardParams)
    """Reward scales by term name and their shape parameters."""
    randomization: RandomizationParams = field(default_factory=RandomizationParams)
    """Friction, payload, motor strength, pushes and initial-state randomisation."""
    physics: PhysicsParams = field(default_factory=PhysicsParams)
    """PD gains, contact and joint-friction constants."""
    terrain: TerrainParams = field(default_factory=TerrainParams)
    """The ground: ``type: flat`` (default, today's env) or ``rough`` (legged_gym's tile grid with a curriculum;
    the ``critic`` group then gets the height scan appended)."""
    course: Optional[CourseName] = None
    """Run one fixed evaluation course instead of the configured ground (``fastembody eval --courses`` sets it):
    the course's height field, spawn at its start facing +x, the command (0.5, 0, 0), 20 s episodes, no pushes;
    an episode also ends, as a success, once the base is 4 m along; ``extras["episode"]`` then holds
    ``course_success`` and ``course_progress``. The observation layout stays the one ``terrain.type`` gives."""
    height_scan_in_policy: bool = False
    """Append the ``height_scan`` term (terrain.num_scan_points values, 187 by default) to the ``policy`` group,
    for a teacher (``critic`` gets it too; ``deployable`` never). Allowed on flat ground, where the scan reads the
    flat ground: clip(base_z - terrain.scan_offset), the same at every point."""
    noise_level: float = 1.0
    """Multiplier on legged_gym's uniform observation noise (0 turns it off) for the policy/deployable groups."""
    deployable_policy: bool = False
    """Make the `policy` group the 45-dim layout without base linear velocity (the real Go2 cannot measure it)."""
    clip_actions: float = 100.0
    """Actions are clipped to [-clip_actions, clip_actions] before q* = q0 + 0.25 a."""
    clip_observations: float = 100.0
    """Observations are clipped to [-clip_observations, clip_observations]."""
    max_roll: float = 0.8
    """An episode ends in a fall when |roll| exceeds this [rad] (or the trunk touches the ground)."""
    max_pitch: float = 1.0
    """An episode ends in a fall when |pitch| exceeds this [rad]."""
    check_actions: bool = True
    """Raise EnvError on NaN/inf actions (one host sync per step); False replaces them by 0 (documented clip)."""
    compile: bool = True
    """torch.compile the physics and the reward/observation maths (falls back to eager where unavailable)."""

    def __post_init__(self) -> None:
        if isinstance(self.num_envs, bool) or not isinstance(self.num_envs, int) or self.num_envs < 1:
            raise ConfigError(f"must be an integer >= 1, got {self.num_envs!r}", key="num_envs")
        check_positive(self.episode_length_s, "episode_length_s")
        check_course(self.course)
        check_positive(self.noise_level, "noise_level", allow_zero=True)
        check_positive(self.clip_actions, "clip_actions")
        check_positive(self.clip_observations, "clip_observations")
        check_positive(self.max_roll, "max_roll")
        check_positive(self.max_pitch, "max_pitch")
        if not isinstance(self.height_scan_in_policy, bool):
            raise ConfigError(f"expected true or false, got {self.height_scan_in_policy!r}", key="height_scan_in_policy")
        for name, kind in (("commands", CommandParams), ("rewards", RewardParams),
                           ("randomization", RandomizationParams), ("physics", PhysicsParams),
                           ("terrain", TerrainParams)):
            value = getattr(self, name)
            if isinstance(value, dict):  # plain data (e.g. built by hand): validate it the same way
                try:
                    setattr(self, name, kind(**value))
                except ConfigError as err:
                    raise ConfigError(str(err), key=name) from None
                except TypeError as err:
                    raise ConfigError(str(err), key=name) from None

"""Parameters of the go2-mujoco env (torch- and mujoco-free: configs validate without either).

The task blocks (``commands``, ``rewards``, ``randomization``) are go2-toy's own dataclasses, so one config
section moves between the two envs unchanged; only ``physics`` and the stepping settings differ.
"""
from dataclasses import dataclass, field
from typing import Optional

from fastembody_core import ConfigError

from .. import robot
from ..checks import check_positive
from ..task_params import CommandParams, RandomizationParams, RewardParams, check_course
from ..terrain.course_specs import CourseName
from ..terrain.params import TerrainParams

DRIVERS = ("auto", "rollout", "threads")


@dataclass
class MujocoPhysicsParams:
    """PD gains and joint constants written into the MJCF model when the env is built."""

    kp: float = robot.KP
    """PD stiffness of the position actuators [N·m/rad]."""
    kd: float = robot.KD
    """PD damping (the actuators' kv) [N·m·s/rad]; clipped together with the stiffness term, as in go2-toy."""
    knee_torque_limit: float = 35.55
    """Knee torque limit [N·m] (35.55 URDF; 45.43 Menagerie). Hip and thigh: 23.7."""
    joint_damping: float = 0.1
    """Viscous joint friction [N·m·s/rad] (go2-toy's value)."""
    joint_friction: float = 0.2
    """Coulomb joint friction (MuJoCo frictionloss) [N·m]."""
    armature: float = 0.01
    """Rotor inertia added to every joint [kg·m²]."""
    elliptic_cone: bool = False
    """Use the elliptic friction cone (Menagerie-like) instead of the pyramidal one: ~2.4x slower stepping."""
    impratio: float = 1.0
    """Friction-to-normal impedance ratio. At 1 a standing robot's feet creep outward ~4 mm/s (MuJoCo's soft
    friction); 100 (Menagerie's value) stops the creep at ~25% more time per step under random actions."""
    model_file: Optional[str] = None
    """Another MJCF to load instead of the bundled go2.xml; it must use the same joint, actuator, site and
    sensor names."""

    def __post_init__(self) -> None:
        for name in ("kp", "knee_torque_limit", "impratio"):
            check_positive(getattr(self, name), name)
        for name in ("kd", "joint_damping", "joint_friction", "armature"):
            check_positive(getattr(self, name), name, allow_zero=True)


@dataclass
class Go2MujocoParams:
    """The go2-mujoco env: N Go2s in MuJoCo on CPU with go2-toy's observations, actions, rewards and task."""

    num_envs: int = 256
    """Number of robots simulated together (one MjModel copy each, for per-env randomisation)."""
    device: Optional[str] = None
    """Torch device of the returned tensors; None uses the run's device (physics always runs on the CPU)."""
    episode_length_s: float = 20.0
    """Episode length [s] (50 policy steps per second)."""
    commands: CommandParams = field(default_factory=CommandParams)
    """Velocity command ranges and resampling (go2-toy's)."""
    rewards: RewardParams = field(default_factory=RewardParams)
    """Reward scales by term name and their shape parameters (go2-toy's)."""
    randomization: RandomizationParams = field(default_factory=RandomizationParams)
    """Friction, payload, motor strength, pushes and initial-state randomisation (go2-toy's)."""
    physics: MujocoPhysicsParams = field(default_factory=MujocoPhysicsParams)
    """PD gains and joint constants of the MuJoCo model."""
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
    """Raise EnvError on NaN/inf actions; False replaces them by 0."""
    dynamics_buckets: int = 64
    """Distinct randomised dynamics (friction, payload, motor strength), each one MjModel copy drawn once from the
    ranges; every reset gives the env a random one (legged_gym's friction buckets). 0: a fresh draw per env at
    every reset, as go2-toy does, with one MjModel per env (their memory makes stepping ~10-25% slower from ~256
    envs on)."""
    compile: bool = True
    """torch.compile the reward and observation maths (~5 s once; 6x less Python time per step); eager where
    unavailable or failing."""
    nthread: int = 0
    """Threads stepping MuJoCo (0: one per CPU core)."""
    driver: str = "auto"
    """"rollout" (mujoco.rollout.Rollout, MuJoCo >= 3.3), "threads" (a thread pool over MjData), or "auto"."""
    terrain: TerrainParams = field(default_factory=TerrainParams)
    """The ground (go2-toy's block): ``flat`` is today's plane; ``rough`` generates the terrain from the run seed
    and makes it the MuJoCo hfield (spawn at tile origins, curriculum, ground-relative base height)."""
    course: Optional[CourseName] = None
    """Run one fixed evaluation course instead of the configured ground (``fastembody eval --courses`` sets it):
    the course's height field, spawn at its start facing +x, the command (0.5, 0, 0), 20 s episodes, no pushes;
    an episode also ends, as a success, once the base is 4 m along; ``extras["episode"]`` then holds
    ``course_success`` and ``course_progress``. The observation layout stays the one ``terrain.type`` gives."""
    height_scan_in_policy: bool = False
    """Append the ``height_scan`` term (terrain.num_scan_points values, 187 by default) to the ``policy`` group,
    for a teacher (``critic`` gets it too; ``deployable`` never). Allowed on flat ground, where the scan reads the
    flat ground: clip(base_z - terrain.scan_offset), the same at every point."""
    hfield_upsample: int = 4
    """MuJoCo hfield samples per terrain cell and axis: a riser ramps over hs / upsample (76 / 80.5 deg for 10 /
    15 cm steps at 4, 45 / 56 at 1). Memory grows with its square: the default map is 88 MB at 4, 22 MB at 2,
    per stepping thread (one MjModel per thread on terrain, whatever dynamics_buckets is)."""
    hfield_border: float = 1.0
    """Flat border kept in the MuJoCo hfield [m] (level boxes continue the ground beyond it)."""

    def __post_init__(self) -> None:
        if isinstance(self.num_envs, bool) or not isinstance(self.num_envs, int) or self.num_envs < 1:
            raise ConfigError(f"must be an integer >= 1, got {self.num_envs!r}", key="num_envs")
        if isinstance(self.nthread, bool) or not isinstance(self.nthread, int) or self.nthread < 0:
            raise ConfigError(f"must be an integer >= 0 (0: one per core), got {self.nthread!r}", key="nthread")
        if isinstance(self.dynamics_buckets, bool) or not isinstance(self.dynamics_buckets, int) \
                or self.dynamics_buckets < 0:
            raise ConfigError(f"must be an integer >= 0 (0: one per env), got {self.dynamics_buckets!r}",
                              key="dynamics_buckets")
        if self.driver not in DRIVERS:
            raise ConfigError(f"unknown driver {self.driver!r}; use one of {', '.join(DRIVERS)}", key="driver")
        if isinstance(self.hfield_upsample, bool) or not isinstance(self.hfield_upsample, int) \
                or self.hfield_upsample < 1:
            raise ConfigError(f"must be an integer >= 1, got {self.hfield_upsample!r}", key="hfield_upsample")
        check_positive(self.hfield_border, "hfield_border", allow_zero=True)
        if not isinstance(self.height_scan_in_policy, bool):
            raise ConfigError(f"expected true or false, got {self.height_scan_in_policy!r}",
                              key="height_scan_in_policy")
        check_positive(self.episode_length_s, "episode_length_s")
        check_course(self.course)
        check_positive(self.noise_level, "noise_level", allow_zero=True)
        for name in ("clip_actions", "clip_observations", "max_roll", "max_pitch"):
            check_positive(getattr(self, name), name)
        for name, kind in (("commands", CommandParams), ("rewards", RewardParams),
                           ("randomization", RandomizationParams), ("physics", MujocoPhysicsParams),
                           ("terrain", TerrainParams)):
            value = getattr(self, name)
            if isinstance(value, dict):  # plain data (e.g. built by hand): validate it the same way
                try:
                    setattr(self, name, kind(**value))
                except (ConfigError, TypeError) as err:
                    raise ConfigError(str(err), key=name) from None

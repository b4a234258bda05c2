"""The Go2 task's parameter blocks shared by every Go2 env (commands, rewards, randomisation) and the checks they
use; torch-free, so configs validate without importing torch. One config section moves between envs unchanged."""
import math
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

from fastembody_core import ConfigError, check_positive, check_range

from .task import DEFAULT_REWARD_SCALES, REWARD_TERMS
from .terrain.course_specs import CourseName
from .terrain.params import TerrainParams


@dataclass
class CommandParams:
    """Velocity commands (vx, vy, yaw rate), resampled per env."""

    lin_vel_x: Tuple[float, float] = (-1.0, 1.0)
    """Forward velocity command range [m/s]."""
    lin_vel_y: Tuple[float, float] = (-1.0, 1.0)
    """Lateral velocity command range [m/s]."""
    ang_vel_yaw: Tuple[float, float] = (-1.0, 1.0)
    """Yaw-rate command range [rad/s] (with heading_command, the clip range of the heading controller)."""
    heading: Tuple[float, float] = (-math.pi, math.pi)
    """Heading target range [rad], used when heading_command is true."""
    heading_command: bool = True
    """Derive the yaw-rate command from a heading target: clip(0.5 * wrap(heading - yaw)), as legged_gym does."""
    resampling_time_s: float = 10.0
    """Resample each env's command every this many seconds of its episode."""
    zero_below: float = 0.2
    """Linear commands with |(vx, vy)| below this become zero (a standing command)."""
    standing_fraction: float = 0.0
    """Probability that a resampled command is exactly zero (all three components)."""

    def __post_init__(self) -> None:
        self.lin_vel_x = check_range(self.lin_vel_x, "lin_vel_x")
        self.lin_vel_y = check_range(self.lin_vel_y, "lin_vel_y")
        self.ang_vel_yaw = check_range(self.ang_vel_yaw, "ang_vel_yaw")
        self.heading = check_range(self.heading, "heading")
        check_positive(self.resampling_time_s, "resampling_time_s")
        check_positive(self.zero_below, "zero_below", allow_zero=True)
        if not 0.0 <= self.standing_fraction <= 1.0:
            raise ConfigError(f"must be in [0, 1], got {self.standing_fraction}", key="standing_fraction")


@dataclass
class RewardParams:
    """Reward scales by term name and the terms' shape parameters."""

    scales: Dict[str, float] = field(default_factory=dict)
    """Scale per term, merged over unitree_rl_gym's Go2 defaults (set 0 to disable a term). Each is multiplied by
    the policy dt (0.02 s). Terms: tracking_lin_vel, tracking_ang_vel, lin_vel_z, ang_vel_xy, orientation, torques,
    dof_vel, dof_acc, action_rate, base_height, feet_air_time, collision, dof_pos_limits, stand_still, feet_slip,
    pose, termination, feet_clearance."""
    tracking_sigma: float = 0.25
    """Velocity tracking reward = exp(-error² / tracking_sigma)."""
    soft_dof_pos_limit: float = 0.9
    """dof_pos_limits penalises positions outside this fraction of the joint range."""
    base_height_target: float = 0.25
    """Target base height for the base_height term [m]."""
    feet_air_time_target: float = 0.5
    """feet_air_time rewards sum(air_time - target) at each touchdown [s]."""
    feet_clearance_target: float = 0.1
    """feet_clearance penalises sum((clearance - target)² tanh(2 |v_xy|)) over the feet: the swing height of a
    foot's bottom above the ground under it [m]."""
    only_positive_rewards: bool = True
    """Clip each step's total reward (before the termination term) at zero, as legged_gym does."""

    def __post_init__(self) -> None:
        unknown = [name for name in self.scales if name not in REWARD_TERMS]
        if unknown:
            raise ConfigError(
                f"unknown reward term {unknown[0]!r}; known terms: {', '.join(REWARD_TERMS)}",
                key=f"scales.{unknown[0]}",
            )
        merged = dict(DEFAULT_REWARD_SCALES)
        for name, value in self.scales.items():
            try:
                merged[name] = float(value)
            except (TypeError, ValueError):
                raise ConfigError(f"expected a number, got {value!r}", key=f"scales.{name}") from None
            if not math.isfinite(merged[name]):
                raise ConfigError(f"must be finite, got {value!r}", key=f"scales.{name}")
        self.scales = merged
        check_positive(self.tracking_sigma, "tracking_sigma")
        if not 0.0 < self.soft_dof_pos_limit <= 1.0:
            raise ConfigError(f"must be in (0, 1], got {self.soft_dof_pos_limit}", key="soft_dof_pos_limit")
        check_positive(self.feet_air_time_target, "feet_air_time_target", allow_zero=True)
        check_positive(self.feet_clearance_target, "feet_clearance_target", allow_zero=True)


@dataclass
class RandomizationParams:
    """Per-env randomisation that changes the dynamics, pushes, and the initial state."""

    friction_range: Tuple[float, float] = (0.5, 1.25)
    """Ground friction coefficient, drawn per env at every reset."""
    payload_mass_range: Tuple[float, float] = (-1.0, 2.0)
    """Mass added to the base [kg], drawn per env at every reset."""
    motor_strength_range: Tuple[float, float] = (0.9, 1.1)
    """Factor on every PD torque (before the torque limit), drawn per env at every reset."""
    push_robots: bool = True
    """Push the base every push_interval_s."""
    push_interval_s: float = 15.0
    """Seconds between pushes (phase set by each env's episode time)."""
    max_push_vel_xy: float = 1.0
    """A push sets the base's horizontal velocity to U(-max, max) per axis [m/s]."""
    init_joint_pos_scale: Tuple[float, float] = (0.5, 1.5)
    """Reset joint positions are q0 times U(range) per joint."""
    init_base_vel: float = 0.5
    """Reset base linear and angular velocities are U(-v, v) per axis."""

    def __post_init__(self) -> None:
        self.friction_range = check_range(self.friction_range, "friction_range", low=0.0)
        self.payload_mass_range = check_range(self.payload_mass_range, "payload_mass_range", low=-5.0)
        self.motor_strength_range = check_range(self.motor_strength_range, "motor_strength_range", low=0.0)
        self.init_joint_pos_scale = check_range(self.init_joint_pos_scale, "init_joint_pos_scale", low=0.0)
        check_positive(self.push_interval_s, "push_interval_s")
        check_positive(self.max_push_vel_xy, "max_push_vel_xy", allow_zero=True)
        check_positive(self.init_base_vel, "init_base_vel", allow_zero=True)


def check_course(value: object) -> None:
    """ConfigError unless ``value`` is None or one of the evaluation courses (a Go2 env's ``course`` param)."""
    from .terrain.course_specs import COURSES

    if value is not None and value not in COURSES:
        raise ConfigError(f"unknown course {value!r}; courses: {', '.join(COURSES)}", key="course")


def coerce_block(owner: Any, name: str, kind: type) -> None:
    """Replace ``owner.<name>`` by ``kind(**value)`` when it is plain data (a dict built by hand), with the
    block's errors re-raised as one ConfigError naming ``name``."""
    value = getattr(owner, name)
    if isinstance(value, dict):
        try:
            setattr(owner, name, kind(**value))
        except (ConfigError, TypeError) as err:
            raise ConfigError(str(err), key=name) from None


@dataclass
class Go2TaskParams:
    """What every batched Go2 env of this plugin takes (go2-toy, go2-mujoco): env count, episode, the task blocks,
    the ground, observation layout and limits. Each backend adds its ``physics`` block and its own settings."""

    num_envs: int = 4096
    """Number of robots simulated together."""
    device: Optional[str] = None
    """Torch device of the returned tensors ("cpu", "cuda", "cuda:1"); None uses the run's device."""
    episode_length_s: float = 20.0
    """Episode length [s] (50 policy steps per second)."""
    commands: CommandParams = field(default_factory=CommandParams)
    """Velocity command ranges and resampling."""
    rewards: RewardParams = field(default_factory=RewardParams)
    """Reward scales by term name and their shape parameters."""
    randomization: RandomizationParams = field(default_factory=RandomizationParams)
    """Friction, payload, motor strength, pushes and initial-state randomisation."""
    terrain: TerrainParams = field(default_factory=TerrainParams)
    """The ground: ``type: flat`` (default, a plane) or ``rough`` (legged_gym's tile grid generated from the run
    seed, with spawn at tile origins, the curriculum and ground-relative base height; the ``critic`` group then gets
    the height scan appended)."""
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
    """Raise EnvError on NaN/inf actions (one host sync per step); False replaces them by 0."""
    compile: bool = True
    """torch.compile the env's maths (falls back to eager where unavailable or failing)."""

    def __post_init__(self) -> None:
        if isinstance(self.num_envs, bool) or not isinstance(self.num_envs, int) or self.num_envs < 1:
            raise ConfigError(f"must be an integer >= 1, got {self.num_envs!r}", key="num_envs")
        check_positive(self.episode_length_s, "episode_length_s")
        check_course(self.course)
        check_positive(self.noise_level, "noise_level", allow_zero=True)
        for name in ("clip_actions", "clip_observations", "max_roll", "max_pitch"):
            check_positive(getattr(self, name), name)
        if not isinstance(self.height_scan_in_policy, bool):
            raise ConfigError(f"expected true or false, got {self.height_scan_in_policy!r}",
                              key="height_scan_in_policy")
        for name, kind in (("commands", CommandParams), ("rewards", RewardParams),
                           ("randomization", RandomizationParams), ("terrain", TerrainParams)):
            coerce_block(self, name, kind)

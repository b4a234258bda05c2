"""Parameters of the go2-mujoco env (torch- and mujoco-free: configs validate without either).

The shared fields (task blocks, terrain, course, observation layout, limits) are
:class:`~fastembody_go2.task_params.Go2TaskParams`, go2-toy's too, so one config section moves between the two
envs unchanged; only ``physics`` and the stepping settings differ.
"""
from dataclasses import dataclass, field
from typing import Optional

from fastembody_core import ConfigError, check_positive

from .. import robot
from ..task_params import Go2TaskParams, coerce_block

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
class Go2MujocoParams(Go2TaskParams):
    """The go2-mujoco env: N Go2s in MuJoCo on CPU with go2-toy's observations, actions, rewards and task (the
    shared fields are :class:`~fastembody_go2.task_params.Go2TaskParams`'; ``terrain: rough`` makes the generated
    field the MuJoCo hfield)."""

    num_envs: int = 256
    """Number of robots simulated together (one MjModel copy each, for per-env randomisation)."""
    device: Optional[str] = None
    """Torch device of the returned tensors; None uses the run's device (physics always runs on the CPU)."""
    compile: bool = True
    """torch.compile the reward and observation maths (~5 s once; 6x less Python time per step); eager where
    unavailable or failing."""
    physics: MujocoPhysicsParams = field(default_factory=MujocoPhysicsParams)
    """PD gains and joint constants of the MuJoCo model."""
    dynamics_buckets: int = 64
    """Distinct randomised dynamics (friction, payload, motor strength), each one MjModel copy drawn once from the
    ranges; every reset gives the env a random one (legged_gym's friction buckets). 0: a fresh draw per env at
    every reset, as go2-toy does, with one MjModel per env (their memory makes stepping ~10-25% slower from ~256
    envs on)."""
    nthread: int = 0
    """Threads stepping MuJoCo (0: one per CPU core)."""
    driver: str = "auto"
    """"rollout" (mujoco.rollout.Rollout, MuJoCo >= 3.3), "threads" (a thread pool over MjData), or "auto"."""
    hfield_upsample: int = 1
    """MuJoCo hfield samples per terrain cell and axis (the hfield holds the sloped ground; with ``ground_boxes``
    false also the risers, which ramp over hs / upsample: 76 / 80.5 deg for 10 / 15 cm steps at 4, 45 / 56 at 1).
    1 by default: with samples about as close as a foot is wide, MuJoCo's sphere-hfield contacts go astray (a
    go2-toy teacher crossed the 20 deg slope up 45 % of the time at 1, 5 % at 4). Memory grows with its square
    (the default map is 5.5 MB at 1, 88 MB at 4, per stepping thread)."""
    hfield_border: float = 1.0
    """Flat border kept in the MuJoCo hfield [m] (level boxes continue the ground beyond it)."""
    ground_boxes: bool = True
    """The flat-topped ground (stair treads, obstacle tops, flat ground) as box geoms whose tops and vertical faces
    are exactly the surface model's treads and risers (``terrain.mujoco_boxes``), the hfield kept below them; false:
    the hfield alone (a go2-toy teacher crossed 10 cm stairs up 60 % of the time with boxes, 0 % without)."""

    def __post_init__(self) -> None:
        super().__post_init__()
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
        if not isinstance(self.ground_boxes, bool):
            raise ConfigError(f"expected true or false, got {self.ground_boxes!r}", key="ground_boxes")
        coerce_block(self, "physics", MujocoPhysicsParams)

"""What the runner reads from and writes to a robot, in the Unitree SDK's joint order (FR, FL, RR, RL), as plain
numpy: :class:`RobotState` (from ``rt/lowstate``) and :class:`JointCommand` (to ``rt/lowcmd``)."""
from dataclasses import dataclass, field

import numpy as np


@dataclass
class RobotState:
    """One low-level state message, the 12 leg joints in SDK order."""

    q: np.ndarray
    """[12] joint positions [rad]."""
    dq: np.ndarray
    """[12] joint velocities [rad/s]."""
    quat_wxyz: np.ndarray
    """[4] IMU orientation (w, x, y, z)."""
    gyro: np.ndarray
    """[3] IMU angular velocity, body frame [rad/s]."""
    tick: int = 0
    wireless_remote: bytes = b"\0" * 40
    received_at: float = 0.0
    """time.monotonic() when the runner received it."""
    tau_est: np.ndarray = field(default_factory=lambda: np.zeros(12))


@dataclass
class JointCommand:
    """Per-joint PD targets in SDK order; the motor law is tau + kp (q - q_meas) + kd (dq - dq_meas)."""

    q: np.ndarray
    dq: np.ndarray
    kp: np.ndarray
    kd: np.ndarray
    tau: np.ndarray

    @classmethod
    def damping(cls, kd: float, n: int = 12) -> "JointCommand":
        """No position target, velocity damping only (the safe state)."""
        zeros = np.zeros(n)
        return cls(q=zeros.copy(), dq=zeros.copy(), kp=zeros.copy(), kd=np.full(n, float(kd)), tau=zeros.copy())

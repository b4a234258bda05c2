"""The policy's input built from the robot's low-level state, exactly as the bundle's manifest describes it:
terms in order, each ``clip(scale * value, +-clip_observations)``, joints in the policy's order."""
from typing import Dict

import numpy as np

from .bundle import Bundle
from .lowlevel import projected_gravity
from .messages import RobotState


class ObservationBuilder:
    """``build(state, command, last_action) -> obs[obs_dim]`` (float32) for one bundle."""

    def __init__(self, bundle: Bundle):
        self.bundle = bundle

    def terms(self, state: RobotState, command: np.ndarray, last_action: np.ndarray) -> Dict[str, np.ndarray]:
        """Every term the policy reads, scaled and clipped (float64, for term-by-term comparison)."""
        b = self.bundle
        q = np.asarray(state.q, dtype=np.float64)[b.policy_from_sdk]
        dq = np.asarray(state.dq, dtype=np.float64)[b.policy_from_sdk]
        raw = {
            "base_ang_vel": np.asarray(state.gyro, dtype=np.float64),
            "projected_gravity": projected_gravity(state.quat_wxyz),
            "commands": np.asarray(command, dtype=np.float64),
            "joint_pos": q - b.default_joint_pos,
            "joint_vel": dq,
            "actions": np.asarray(last_action, dtype=np.float64),
        }
        limit = b.clip_observations
        return {t: np.clip(raw[t] * b.term_scales[t], -limit, limit) for t in b.terms}

    def build(self, state: RobotState, command: np.ndarray, last_action: np.ndarray) -> np.ndarray:
        values = self.terms(state, command, last_action)
        return np.concatenate([values[t] for t in self.bundle.terms]).astype(np.float32)

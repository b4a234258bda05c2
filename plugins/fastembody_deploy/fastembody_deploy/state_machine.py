"""The runner's safety state machine: passive (damping) -> stand up (interpolate to the default pose) -> policy,
and damping on any fault.

* ``passive``: kp 0, kd ``damping_kd``: the joints are soft, the robot can be held or hoisted. The start state,
  and where the operator's ``stop`` leads (re-armable: ``stand`` again).
* ``stand_up``: from the measured pose to the bundle's default pose in ``stand_time_s`` with ``stand_kp`` /
  ``stand_kd`` (stiffer than a policy's gains: it lifts the robot from lying, as Unitree's stand examples); then
  holds it. ``walk`` is accepted once the pose is reached.
* ``policy``: the policy's joint targets every control period.
* ``damping``: entered on any fault, the same command as passive but **latched**: only a restart of the runner
  leaves it. Faults: ``tilt`` (body z more than ``max_tilt`` from vertical), ``stale_state`` (no low-level
  state for ``stale_after_s``), ``joint_limit`` (a measured joint more than ``joint_margin`` outside its limits),
  ``bad_action`` (a non-finite action, or a joint target more than ``target_margin`` outside the limits) and
  ``command_lost`` (the command source stopped answering), checked in ``stand_up`` and ``policy``.
"""
from dataclasses import dataclass
from typing import List, Optional

import numpy as np

from .bundle import Bundle
from .lowlevel import tilt_angle
from .messages import RobotState

PASSIVE, STAND_UP, POLICY, DAMPING = "passive", "stand_up", "policy", "damping"
MODES = (PASSIVE, STAND_UP, POLICY, DAMPING)
EVENTS = ("stand", "walk", "stop")
"""Operator events: from the Go2 remote (L2+A, Start, L2+B) or the keyboard (s, w, space)."""


@dataclass
class SafetyConfig:
    """Limits of the state machine (``max_tilt`` None: the bundle's fall limits, as in training)."""

    stale_after_s: float = 0.1
    max_tilt: Optional[float] = None
    joint_margin: float = 0.1
    target_margin: float = 0.5
    stand_time_s: float = 2.0
    stand_kp: float = 50.0
    stand_kd: float = 3.0
    damping_kd: float = 3.0


class SafetyStateMachine:
    """Holds the mode; :meth:`update` applies operator events and state faults, :meth:`fault` any other fault.
    ``history`` lists ``(time, from, to, reason)`` of every transition."""

    def __init__(self, bundle: Bundle, config: Optional[SafetyConfig] = None):
        self.bundle = bundle
        self.config = config or SafetyConfig()
        self.max_tilt = self.config.max_tilt if self.config.max_tilt is not None else bundle.max_tilt
        self.mode = PASSIVE
        self.reason: Optional[str] = None
        """Why the last transition happened (the fault's line in damping)."""
        self.stand_start_q: Optional[np.ndarray] = None
        self.stand_start_t = 0.0
        self.history: List[tuple] = []

    def _go(self, now: float, mode: str, reason: str) -> None:
        self.history.append((now, self.mode, mode, reason))
        self.mode, self.reason = mode, reason

    def fault(self, now: float, reason: str) -> None:
        """Enter (latched) damping, unless already passive (nothing is driven there) or damping."""
        if self.mode in (STAND_UP, POLICY):
            self._go(now, DAMPING, reason)

    def state_fault(self, now: float, state: Optional[RobotState]) -> Optional[str]:
        """The first fault the latest state shows (None: none)."""
        c, b = self.config, self.bundle
        if state is None or now - state.received_at > c.stale_after_s:
            age = "never received" if state is None else f"{1000 * (now - state.received_at):.0f} ms old"
            return f"stale_state: low-level state {age} (limit {1000 * c.stale_after_s:.0f} ms)"
        tilt = tilt_angle(state.quat_wxyz)
        if not tilt <= self.max_tilt:
            return f"tilt: {np.degrees(tilt):.0f} deg from upright (limit {np.degrees(self.max_tilt):.0f})"
        q = np.asarray(state.q, dtype=np.float64)[b.policy_from_sdk]
        low, high = b.joint_lower - c.joint_margin, b.joint_upper + c.joint_margin
        bad = np.flatnonzero(~((q >= low) & (q <= high)))
        if bad.size:
            i = int(bad[0])
            return (f"joint_limit: {b.robot['joint_names'][i]} at {q[i]:.2f} rad, limits "
                    f"[{b.joint_lower[i]:.2f}, {b.joint_upper[i]:.2f}] +- {c.joint_margin}")
        return None

    def action_fault(self, actions: np.ndarray, targets: np.ndarray) -> Optional[str]:
        """``bad_action`` if an action is not finite or a target leaves the limits by more than target_margin."""
        b, margin = self.bundle, self.config.target_margin
        if not np.all(np.isfinite(actions)):
            return "bad_action: the policy returned a non-finite action"
        bad = np.flatnonzero((targets < b.joint_lower - margin) | (targets > b.joint_upper + margin))
        if bad.size:
            i = int(bad[0])
            return (f"bad_action: target {targets[i]:.2f} rad for {b.robot['joint_names'][i]} is outside "
                    f"[{b.joint_lower[i]:.2f}, {b.joint_upper[i]:.2f}] +- {margin}")
        return None

    def stand_progress(self, now: float) -> float:
        """0 -> 1 over stand_time_s since stand_up was entered."""
        return float(np.clip((now - self.stand_start_t) / max(self.config.stand_time_s, 1e-6), 0.0, 1.0))

    def update(self, now: float, state: Optional[RobotState], events: List[str], command_alive: bool = True) -> str:
        """Apply one control period's faults and operator events; returns the mode to command."""
        if self.mode in (STAND_UP, POLICY):
            reason = self.state_fault(now, state)
            if reason is None and not command_alive:
                reason = "command_lost: the command source stopped answering"
            if reason is not None:
                self.fault(now, reason)
                return self.mode
        for event in events:
            if event == "stop" and self.mode in (STAND_UP, POLICY):
                self._go(now, PASSIVE, "operator stop")
            elif event == "stand" and self.mode == PASSIVE:
                refused = self.state_fault(now, state)
                if refused is not None:
                    self.reason = f"stand refused: {refused}"
                else:
                    self.stand_start_q = np.asarray(state.q, dtype=np.float64)[self.bundle.policy_from_sdk].copy()
                    self.stand_start_t = now
                    self._go(now, STAND_UP, "operator stand")
            elif event == "walk" and self.mode == STAND_UP and self.stand_progress(now) >= 1.0:
                self._go(now, POLICY, "operator walk")
        return self.mode

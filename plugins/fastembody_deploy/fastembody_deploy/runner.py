"""The control loop: every control period, read the latest low-level state, apply the command source and the
safety state machine, run the policy in the policy state, and send one joint command.

The loop keeps absolute deadlines (``start + k * control_dt``; a late period is not made up with a burst) and
records every period, so ``RunReport.period_p99_ms`` says how steady it was. Whatever ends the run (the
duration, ``quit``, Ctrl-C, an exception) is followed by damping commands before :meth:`Runner.run` returns or
raises.
"""
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import numpy as np

from .bundle import Bundle, OnnxPolicy
from .commands import CommandSource
from .errors import DeployError
from .messages import JointCommand, RobotState
from .observation import ObservationBuilder
from .state_machine import DAMPING, POLICY, STAND_UP, SafetyConfig, SafetyStateMachine

FINAL_DAMPING_COMMANDS = 10
"""Damping commands sent when the run ends (the motors hold the last command they received)."""


class RobotIO:
    """A robot as the runner sees it (the Go2 or go2-mujoco over DDS: :mod:`fastembody_deploy.dds`; a fake in
    tests): the latest low-level state (None before the first) and sending a joint command."""

    def latest_state(self) -> Optional[RobotState]:
        raise NotImplementedError

    def send(self, command: JointCommand) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release the connection."""


@dataclass
class RunReport:
    """What a run did: loop periods, transitions ``(t, from, to, reason)``, where it ended and why."""

    periods_s: List[float] = field(default_factory=list)
    transitions: List[tuple] = field(default_factory=list)
    final_mode: str = ""
    ended_at: float = 0.0
    """Clock time the loop ended (before the final damping commands)."""
    reason: Optional[str] = None
    observations: List[Dict[str, object]] = field(default_factory=list)
    """With ``record=True``: per policy step ``{"tick", "terms", "actions"}``."""

    @property
    def period_p99_ms(self) -> float:
        return float(np.percentile(self.periods_s, 99) * 1000.0) if self.periods_s else float("nan")


class Runner:
    """One bundle driving one robot: ``Runner(bundle, io, commands).run(duration_s)``."""

    def __init__(self, bundle: Bundle, io: RobotIO, commands: CommandSource, safety: Optional[SafetyConfig] = None,
                 clock: Callable[[], float] = time.monotonic, log: Callable[[str], None] = print,
                 record: bool = False):
        self.bundle, self.io, self.commands = bundle, io, commands
        self.machine = SafetyStateMachine(bundle, safety)
        self.policy = OnnxPolicy(bundle)
        self.builder = ObservationBuilder(bundle)
        self.clock, self.log, self.record = clock, log, record
        self.last_action = np.zeros(len(bundle.default_joint_pos))
        self.report = RunReport()
        ranges = np.asarray([bundle.command_ranges[k] for k in ("lin_vel_x", "lin_vel_y", "ang_vel_yaw")])
        self._command_low, self._command_high = ranges[:, 0], ranges[:, 1]

    def damping(self) -> JointCommand:
        return JointCommand.damping(self.machine.config.damping_kd, len(self.last_action))

    def _pd(self, q_policy: np.ndarray, kp: float, kd: float) -> JointCommand:
        n = len(q_policy)
        return JointCommand(q=np.asarray(q_policy)[self.bundle.sdk_from_policy], dq=np.zeros(n), kp=np.full(n, kp),
                            kd=np.full(n, kd), tau=np.zeros(n))

    def tick(self, now: float) -> JointCommand:
        """One control period: state, command, transitions, policy; sends and returns the joint command."""
        b, m = self.bundle, self.machine
        state = self.io.latest_state()
        command, events = self.commands.poll(now, state)
        command = np.clip(command, self._command_low, self._command_high)
        before = m.mode
        mode = m.update(now, state, events, self.commands.alive(now))
        if mode != before:
            self.log(f"{before} -> {mode}: {m.reason}")
            if mode == POLICY:
                self.policy.reset()
                self.last_action[:] = 0.0
        out = self.damping()
        if mode == POLICY:
            obs = self.builder.build(state, command, self.last_action)
            actions = self.policy.act(obs)
            clipped = np.clip(actions, -b.clip_actions, b.clip_actions)
            targets = b.default_joint_pos + b.action_scale * clipped
            reason = m.action_fault(actions, targets)
            if reason is not None:
                m.fault(now, reason)
                self.log(f"{POLICY} -> {DAMPING}: {reason}")
            else:
                if self.record:
                    self.report.observations.append({"tick": state.tick, "received_at": state.received_at,
                                                     "terms": self.builder.terms(state, command, self.last_action),
                                                     "actions": clipped.copy()})
                self.last_action = clipped
                out = self._pd(targets, b.kp, b.kd)
        elif mode == STAND_UP:
            alpha = m.stand_progress(now)
            out = self._pd((1.0 - alpha) * m.stand_start_q + alpha * b.default_joint_pos, m.config.stand_kp,
                           m.config.stand_kd)
        self.io.send(out)
        return out

    def wait_for_state(self, timeout_s: float, where: str = "") -> RobotState:
        """Send damping until the first low-level state arrives; DeployError after ``timeout_s``."""
        deadline = self.clock() + timeout_s
        while True:
            state = self.io.latest_state()
            if state is not None:
                return state
            if self.clock() > deadline:
                raise DeployError(f"no low-level state (rt/lowstate) arrived within {timeout_s:g} s{where}: is the "
                                  "robot (or the simulator) on, on this network interface and DDS domain?")
            self.io.send(self.damping())
            time.sleep(min(self.bundle.control_dt, 0.01))

    def run(self, duration_s: Optional[float] = None, sleep: Callable[[float], None] = time.sleep) -> RunReport:
        """The fixed-rate loop until ``duration_s`` (None: until quit); damping afterwards, whatever happened."""
        dt = self.bundle.control_dt
        start = last = self.clock()
        k = 0
        try:
            while not self.commands.quit_requested:
                now = self.clock()
                if duration_s is not None and now - start >= duration_s:
                    break
                if k:
                    self.report.periods_s.append(now - last)
                last = now
                self.tick(now)
                k += 1
                target = start + k * dt
                behind = self.clock() - target
                if behind > dt:  # skip missed periods rather than bursting to catch up
                    k += int(behind // dt)
                    target = start + k * dt
                pause = target - self.clock()
                if pause > 0:
                    sleep(pause)
        finally:
            self.report.ended_at = self.clock()
            for _ in range(FINAL_DAMPING_COMMANDS):
                self.io.send(self.damping())
                sleep(min(dt, 0.005))
            self.report.transitions = list(self.machine.history)
            self.report.final_mode, self.report.reason = self.machine.mode, self.machine.reason
        return self.report

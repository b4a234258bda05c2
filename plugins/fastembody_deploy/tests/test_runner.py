"""The control loop with a fake robot and a fake clock: commands per state in SDK order, damping at the end,
a bad action damps, the loop keeps its period."""
import numpy as np
import pytest

from fastembody_deploy.bundle import load_bundle
from fastembody_deploy.commands import ScriptedCommands
from fastembody_deploy.errors import DeployError
from fastembody_deploy.messages import RobotState
from fastembody_deploy.runner import FINAL_DAMPING_COMMANDS, RobotIO, Runner
from fastembody_deploy.state_machine import DAMPING, POLICY, SafetyConfig


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t

    def sleep(self, dt):
        self.t += dt


class FakeRobot(RobotIO):
    def __init__(self, bundle, clock, connected=True):
        self.b, self.clock, self.sent, self.connected = bundle, clock, [], connected

    def latest_state(self):
        if not self.connected:
            return None
        return RobotState(q=self.b.default_joint_pos[self.b.sdk_from_policy], dq=np.zeros(12),
                          quat_wxyz=np.array([1.0, 0, 0, 0]), gyro=np.zeros(3), received_at=self.clock())

    def send(self, command):
        self.sent.append((self.clock(), command))


def make(bundle_factory, actions=0.4, events=None):
    b = load_bundle(bundle_factory(actions=actions))
    clock = Clock()
    robot = FakeRobot(b, clock)
    commands = ScriptedCommands((0.5, 0.0, 0.0), events or {"stand": 0.1, "walk": 1.5})
    runner = Runner(b, robot, commands, SafetyConfig(stand_time_s=1.0), clock=clock, log=lambda m: None,
                    record=True)
    return b, clock, robot, runner


def test_a_scripted_run_stands_then_walks_and_ends_damped(bundle_factory):
    b, clock, robot, runner = make(bundle_factory)
    report = runner.run(3.0, sleep=clock.sleep)
    assert [t[2] for t in report.transitions] == ["stand_up", POLICY]
    assert report.final_mode == POLICY
    walking = robot.sent[-FINAL_DAMPING_COMMANDS - 1][1]
    expected = (b.default_joint_pos + b.action_scale * 0.4)[b.sdk_from_policy]  # SDK order
    assert np.allclose(walking.q, expected) and np.allclose(walking.kp, b.kp) and np.allclose(walking.kd, b.kd)
    for _, last in robot.sent[-FINAL_DAMPING_COMMANDS:]:
        assert np.all(last.kp == 0) and np.all(last.kd > 0)
    assert report.period_p99_ms == pytest.approx(b.control_dt * 1000, rel=1e-6)
    assert len(report.observations) > 10
    first, second = report.observations[0], report.observations[1]
    assert np.allclose(first["terms"]["actions"], 0) and np.allclose(second["terms"]["actions"], 0.4)


def test_a_nan_action_damps(bundle_factory):
    b, clock, robot, runner = make(bundle_factory)
    runner.policy.act = lambda obs: np.full(12, np.nan)
    report = runner.run(3.0, sleep=clock.sleep)
    assert report.final_mode == DAMPING and report.reason.startswith("bad_action")
    assert all(np.all(c.kp == 0) for t, c in robot.sent if t > 1.6)


def test_a_target_outside_the_limits_damps(bundle_factory):
    b, clock, robot, runner = make(bundle_factory, actions=30.0)
    assert runner.run(3.0, sleep=clock.sleep).final_mode == DAMPING


def test_no_state_at_start_is_one_line_and_only_damping_was_sent(bundle_factory):
    b, clock, robot, runner = make(bundle_factory)
    robot.connected = False
    import time

    runner.clock = time.monotonic
    with pytest.raises(DeployError, match="no low-level state"):
        runner.wait_for_state(0.05)
    assert robot.sent and all(np.all(c.kp == 0) for _, c in robot.sent)


def test_stale_state_during_the_policy_damps(bundle_factory):
    b, clock, robot, runner = make(bundle_factory)
    real = robot.latest_state

    def freezing():
        state = real()
        if clock.t > 2.0:
            state.received_at = 2.0
        return state

    robot.latest_state = freezing
    report = runner.run(3.0, sleep=clock.sleep)
    assert report.final_mode == DAMPING and report.reason.startswith("stale_state")

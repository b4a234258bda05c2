"""Every transition of the safety state machine, each fault driven by a fake state stream."""
import math

import numpy as np
import pytest

from fastembody_deploy.bundle import load_bundle
from fastembody_deploy.messages import RobotState
from fastembody_deploy.state_machine import DAMPING, PASSIVE, POLICY, STAND_UP, SafetyConfig, SafetyStateMachine


def upright(b, t, roll=0.0, q=None):
    quat = np.array([math.cos(roll / 2), math.sin(roll / 2), 0.0, 0.0])
    q = b.default_joint_pos if q is None else q
    return RobotState(q=np.asarray(q)[b.sdk_from_policy], dq=np.zeros(12), quat_wxyz=quat, gyro=np.zeros(3),
                      received_at=t)


@pytest.fixture
def machine(bundle_factory):
    b = load_bundle(bundle_factory())
    return b, SafetyStateMachine(b, SafetyConfig(stand_time_s=1.0))


def walk(b, m):
    m.update(0.0, upright(b, 0.0), ["stand"])
    m.update(1.0, upright(b, 1.0), ["walk"])
    assert m.mode == POLICY


def test_passive_stand_up_policy_and_stop(machine):
    b, m = machine
    assert m.mode == PASSIVE
    assert m.update(0.0, upright(b, 0.0), ["walk"]) == PASSIVE  # walk needs a stand first
    assert m.update(0.0, upright(b, 0.0), ["stand"]) == STAND_UP
    assert m.update(0.5, upright(b, 0.5), ["walk"]) == STAND_UP  # not up yet
    assert m.stand_progress(0.5) == pytest.approx(0.5)
    assert m.update(1.0, upright(b, 1.0), ["walk"]) == POLICY
    assert m.update(1.1, upright(b, 1.1), ["stop"]) == PASSIVE  # operator stop is re-armable
    assert m.update(1.2, upright(b, 1.2), ["stand"]) == STAND_UP
    assert [h[2] for h in m.history] == [STAND_UP, POLICY, PASSIVE, STAND_UP]


def test_stand_is_refused_without_a_fresh_upright_state(machine):
    b, m = machine
    assert m.update(1.0, upright(b, 0.0), ["stand"]) == PASSIVE
    assert "stand refused: stale_state" in m.reason
    assert m.update(0.0, None, ["stand"]) == PASSIVE
    assert m.update(0.0, upright(b, 0.0, roll=1.2), ["stand"]) == PASSIVE


@pytest.mark.parametrize("fault, state_at", [
    ("tilt", lambda b: upright(b, 2.0, roll=1.0)),
    ("stale_state", lambda b: upright(b, 1.85)),
    ("stale_state", lambda b: None),
    ("joint_limit", lambda b: upright(b, 2.0, q=np.r_[b.joint_upper[:1] + 0.3, b.default_joint_pos[1:]])),
])
def test_state_faults_latch_damping(machine, fault, state_at):
    b, m = machine
    walk(b, m)
    assert m.update(2.0, state_at(b), []) == DAMPING
    assert m.reason.startswith(fault)
    for event in ("stop", "stand", "walk"):  # latched: only a restart leaves damping
        assert m.update(3.0, upright(b, 3.0), [event]) == DAMPING


def test_lost_command_source_is_a_fault(machine):
    b, m = machine
    walk(b, m)
    assert m.update(2.0, upright(b, 2.0), [], command_alive=False) == DAMPING
    assert m.reason.startswith("command_lost")


def test_faults_while_standing_up_damp_too(machine):
    b, m = machine
    m.update(0.0, upright(b, 0.0), ["stand"])
    assert m.update(0.5, upright(b, 0.5, roll=1.0), []) == DAMPING


def test_action_faults(machine):
    b, m = machine
    good = b.default_joint_pos.copy()
    assert m.action_fault(np.zeros(12), good) is None
    assert m.action_fault(np.r_[np.nan, np.zeros(11)], good).startswith("bad_action: the policy returned a non")
    far = good.copy()
    far[2] = b.joint_lower[2] - 1.0
    assert "FL_calf_joint" in m.action_fault(np.zeros(12), far)


def test_passive_ignores_faults(machine):
    b, m = machine
    assert m.update(5.0, None, []) == PASSIVE  # a robot lying in damping with no state yet is fine
    m.fault(5.0, "tilt: test")
    assert m.mode == PASSIVE

"""Command sources: the Go2 remote's chords and sticks, the keyboard's keys, a script."""
import io

import numpy as np

from fastembody_deploy.commands import KeyboardCommands, RemoteCommands, ScriptedCommands
from fastembody_deploy.lowlevel import encode_remote
from fastembody_deploy.messages import RobotState

RANGES = {"lin_vel_x": [-1.0, 1.0], "lin_vel_y": [-0.5, 0.5], "ang_vel_yaw": [-1.0, 1.0]}


def state(remote: bytes) -> RobotState:
    return RobotState(q=np.zeros(12), dq=np.zeros(12), quat_wxyz=np.array([1.0, 0, 0, 0]), gyro=np.zeros(3),
                      wireless_remote=remote)


def test_remote_chords_fire_once_on_the_press_of_their_last_key():
    source = RemoteCommands(RANGES)
    assert source.poll(0, state(encode_remote(["L2"])))[1] == []
    assert source.poll(0, state(encode_remote(["L2", "A"])))[1] == ["stand"]
    assert source.poll(0, state(encode_remote(["L2", "A"])))[1] == []  # held: no repeat
    assert source.poll(0, state(encode_remote(["A"])))[1] == []  # A without L2 is nothing
    assert source.poll(0, state(encode_remote(["Start"])))[1] == ["walk"]
    assert source.poll(0, state(encode_remote(["L2"])))[1] == []
    assert source.poll(0, state(encode_remote(["L2", "B"])))[1] == ["stop"]
    assert not source.quit_requested
    source.poll(0, state(encode_remote(["Select"])))
    assert source.quit_requested


def test_remote_sticks_scale_to_the_command_ranges():
    command, _ = RemoteCommands(RANGES).poll(0, state(encode_remote([], ly=1.0, lx=-1.0, rx=0.5)))
    assert np.allclose(command, [1.0, 0.5, -0.5])  # forward, left, turning right


def test_keyboard_keys():
    source = KeyboardCommands(RANGES, stream=io.StringIO(""))
    for key in "iiiiu j s w":
        source.handle(key)
    command, events = source.poll(0, None)
    assert np.allclose(command, [0.4, 0.1, 0.2]) and events == ["stop", "stop", "stand", "stop", "walk"]
    for key in "i" * 30:
        source.handle(key)
    assert source.poll(0, None)[0][0] == 1.0  # clipped to the range
    source.handle("q")
    assert source.quit_requested


def test_keyboard_end_of_input_is_a_lost_command_source():
    source = KeyboardCommands(RANGES, stream=io.StringIO("s"))
    import time

    deadline = time.time() + 2.0
    while source.alive(0) and time.time() < deadline:
        time.sleep(0.01)
    assert not source.alive(0)
    assert source.poll(0, None)[1] == ["stand"]


def test_script_events_fire_at_their_times():
    source = ScriptedCommands((0.5, 0, 0), {"stand": 0.5, "walk": 3.0, "quit": 4.0}, start=10.0)
    assert source.poll(10.2, None)[1] == []
    assert source.poll(10.6, None)[1] == ["stand"]
    assert source.poll(13.5, None)[1] == ["walk"]
    source.poll(14.0, None)
    assert source.quit_requested

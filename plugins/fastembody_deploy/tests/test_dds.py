"""The DDS layer: LowCmd filling with its CRC, LowState reading, interface checks, the SDK import work-around."""
import numpy as np
import pytest

from fastembody_deploy import dds, lowlevel
from fastembody_deploy.errors import DeployError
from fastembody_deploy.messages import JointCommand


@pytest.fixture(scope="module")
def sdk_types():
    try:
        return dds.import_sdk()
    except DeployError as exc:
        pytest.skip(str(exc))


def test_a_filled_command_carries_the_crc_of_its_bytes(sdk_types):
    command = JointCommand(q=np.linspace(-1, 1, 12), dq=np.zeros(12), kp=np.full(12, 20.0), kd=np.full(12, 0.5),
                           tau=np.zeros(12))
    msg = dds.fill_low_cmd(sdk_types["new_low_cmd"](), command)
    values = lowlevel.initial_low_cmd()
    values.q[:12], values.kp[:12], values.kd[:12] = command.q, 20.0, 0.5
    values.dq[:12], values.tau[:12] = 0.0, 0.0
    assert msg.crc == lowlevel.low_cmd_crc(values)
    assert list(msg.head) == [0xFE, 0xEF] and msg.level_flag == 0xFF
    assert msg.motor_cmd[12].q == pytest.approx(lowlevel.POS_STOP_F) and msg.motor_cmd[0].mode == 1
    back = dds.from_low_cmd(msg)
    assert np.allclose(back.q, command.q, atol=1e-6) and np.allclose(back.kp, 20.0)


def test_the_initialised_command_matches_unitrees_test_vector(sdk_types):
    msg = dds.fill_low_cmd(sdk_types["new_low_cmd"](), JointCommand(
        q=np.full(12, lowlevel.POS_STOP_F), dq=np.full(12, lowlevel.VEL_STOP_F), kp=np.zeros(12), kd=np.zeros(12),
        tau=np.zeros(12)))
    assert msg.crc == 115701709  # ../shared/reference/go2_deploy.md, checked against the SDK's own CRC code


def test_a_low_state_message_reads_in_sdk_order(sdk_types):
    msg = sdk_types["new_low_state"]()
    for i in range(12):
        msg.motor_state[i].q = float(i)
    msg.imu_state.quaternion = [1.0, 0.0, 0.0, 0.0]
    msg.tick = 7
    msg.wireless_remote = list(lowlevel.encode_remote(["A"]))
    state = dds.to_robot_state(msg, 3.0)
    assert state.q.tolist() == [float(i) for i in range(12)] and state.tick == 7 and state.received_at == 3.0
    assert lowlevel.decode_remote(state.wireless_remote).pressed("A")


def test_an_interface_that_does_not_exist_is_named():
    with pytest.raises(DeployError, match="network interface 'nope0' does not exist"):
        dds.open_channels("nope0", 1)


def test_the_runner_refuses_to_start_while_another_process_commands_the_motors(sdk_types, bundle_factory):
    import subprocess
    import sys
    import threading

    dds.open_channels("lo", dds.SIM_DOMAIN)
    publisher = sdk_types["ChannelPublisher"](dds.LOWCMD_TOPIC, sdk_types["LowCmd_"])
    publisher.Init()
    msg = dds.fill_low_cmd(sdk_types["new_low_cmd"](), JointCommand.damping(3.0))
    stop = threading.Event()

    def commander():
        while not stop.is_set():
            publisher.Write(msg)
            stop.wait(0.01)

    thread = threading.Thread(target=commander, daemon=True)
    thread.start()
    try:
        out = subprocess.run([sys.executable, "-m", "fastembody_deploy.main", str(bundle_factory()), "--interface",
                              "lo", "--connect-timeout", "1"], capture_output=True, text=True, timeout=60)
    finally:
        stop.set()
        thread.join()
        dds.close_channels(publisher)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "another process is publishing rt/lowcmd" in out.stderr and "Traceback" not in out.stderr


@pytest.fixture
def sdk_crc(sdk_types, monkeypatch):
    """Unitree's own CRC code (unitree_sdk2py.utils.crc) on its pure-Python path: the PyPI wheel lacks the .so it
    loads on Linux, so the platform is reported as something else while it is built."""
    import importlib
    import platform

    crc = importlib.import_module("unitree_sdk2py.utils.crc")
    monkeypatch.setattr(platform, "system", lambda: "FastEmbodyTest")
    monkeypatch.setattr(crc.Singleton, "_Singleton__instance", None, raising=False)
    return crc.CRC()


def test_our_crc_equals_the_sdks_on_commands_and_states(sdk_types, sdk_crc):
    rng = np.random.default_rng(0)
    for _ in range(5):
        command = JointCommand(q=rng.uniform(-2, 2, 12), dq=rng.uniform(-5, 5, 12), kp=rng.uniform(0, 60, 12),
                               kd=rng.uniform(0, 5, 12), tau=rng.uniform(-10, 10, 12))
        msg = dds.fill_low_cmd(sdk_types["new_low_cmd"](), command)
        assert msg.crc == sdk_crc.Crc(msg)

    class Sim:  # a still robot: what the bridge publishes must carry the SDK's CRC of that message
        physics_dt = 0.005

        def read(self):
            return {"q": np.linspace(-1, 1, 12), "dq": np.linspace(2, -2, 12), "tau": np.linspace(-5, 5, 12),
                    "quat_wxyz": np.array([0.9, 0.1, 0.2, 0.3]), "gyro": np.array([0.1, -0.2, 0.3]), "time": 1.234}

    from fastembody_deploy.sim_bridge import SimBridge

    published = []
    bridge = SimBridge(Sim(), {"policy_from_sdk": list(range(12)), "sdk_from_policy": list(range(12))})
    bridge._publisher.Write = published.append
    bridge.press(["L2", "A"], ly=0.5)
    try:
        bridge.publish()
    finally:
        bridge.close()
    assert published[0].crc == sdk_crc.Crc(published[0]) and published[0].tick == 1234

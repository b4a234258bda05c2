"""The Go2's low-level DDS interface through the official Unitree SDK (PyPI ``unitree_sdk2``, module
``unitree_sdk2py``): :class:`DdsRobotIO` subscribes to ``rt/lowstate`` and publishes ``rt/lowcmd`` with its CRC
(computed here: the PyPI wheel ships without the SDK's CRC library); :func:`open_channels` is shared with the
simulator bridge (:mod:`fastembody_deploy.sim_bridge`), which plays the robot's side.

The real robot is DDS domain 0 on the interface wired to it (192.168.123.0/24); simulation is domain 1 on ``lo``.
"""
import importlib
import importlib.util
import os
import socket
import sys
import threading
import time
import types
from typing import Any, Callable, Dict, List, Optional

import numpy as np

from . import lowlevel
from .errors import DeployError
from .messages import JointCommand, RobotState
from .runner import RobotIO

LOWSTATE_TOPIC = "rt/lowstate"
LOWCMD_TOPIC = "rt/lowcmd"
REAL_DOMAIN, SIM_DOMAIN = 0, 1
SDK_HINT = ("install the Unitree SDK and its DDS stack: pip install cyclonedds==11.0.1 (Python >= 3.10; 0.10.x "
            "built from source on the Go2's Python 3.8) && pip install --no-deps unitree_sdk2")


def import_sdk() -> Dict[str, Any]:
    """The SDK pieces the runner and the bridge use, as a dict; DeployError naming what to install.

    The PyPI wheel (1.0.1) imports a ``b2`` subpackage it does not contain, so ``import unitree_sdk2py`` fails
    (unitree_sdk2_python issues #36, #81); its submodules are fine. In that case the package is entered through
    a bare module object, which skips only the broken ``__init__``."""
    try:
        spec = importlib.util.find_spec("unitree_sdk2py")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise DeployError(f"the Unitree SDK (module unitree_sdk2py) is not installed: {SDK_HINT}")
    if "unitree_sdk2py" not in sys.modules:
        locations = list(spec.submodule_search_locations)
        broken = not any(os.path.isdir(os.path.join(p, "b2")) for p in locations)
        if broken:
            package = types.ModuleType("unitree_sdk2py")
            package.__path__ = locations
            package.__spec__ = spec
            package.__file__ = spec.origin
            sys.modules["unitree_sdk2py"] = package
    try:
        channel = importlib.import_module("unitree_sdk2py.core.channel")
        msgs = importlib.import_module("unitree_sdk2py.idl.unitree_go.msg.dds_")
        default = importlib.import_module("unitree_sdk2py.idl.default")
    except ImportError as exc:
        raise DeployError(f"the Unitree SDK does not import ({exc}): {SDK_HINT}") from None
    return {"ChannelFactoryInitialize": channel.ChannelFactoryInitialize,
            "ChannelPublisher": channel.ChannelPublisher, "ChannelSubscriber": channel.ChannelSubscriber,
            "LowCmd_": msgs.LowCmd_, "LowState_": msgs.LowState_, "new_low_cmd": default.unitree_go_msg_dds__LowCmd_,
            "new_low_state": default.unitree_go_msg_dds__LowState_}


def interfaces() -> List[str]:
    """Names of this machine's network interfaces."""
    try:
        return [name for _, name in socket.if_nameindex()]
    except OSError:
        return []


_opened: Dict[str, Any] = {}


def open_channels(interface: str, domain: int) -> Dict[str, Any]:
    """Initialise the SDK's DDS participant once per process (a second call must ask for the same interface and
    domain); returns :func:`import_sdk`'s dict."""
    if interface not in interfaces():
        raise DeployError(f"network interface {interface!r} does not exist here (interfaces: "
                          f"{', '.join(interfaces()) or 'none found'}); the Go2 is on the one wired to "
                          "192.168.123.x, simulation uses lo")
    sdk = import_sdk()
    key = f"{interface}/{domain}"
    if _opened and key not in _opened:
        raise DeployError(f"this process already uses DDS on {next(iter(_opened))}; one interface/domain each")
    if key not in _opened:
        try:
            sdk["ChannelFactoryInitialize"](domain, interface)
        except Exception as exc:  # the SDK raises a bare Exception
            raise DeployError(f"DDS could not start on interface {interface!r}, domain {domain} ({exc})") from None
        _opened[key] = True
    return sdk


def to_robot_state(msg: Any, received_at: float) -> RobotState:
    """A ``LowState_`` message as a :class:`RobotState` (the 12 leg joints, SDK order)."""
    motors = msg.motor_state
    imu = msg.imu_state
    return RobotState(
        q=np.array([motors[i].q for i in range(lowlevel.NUM_JOINTS)], dtype=np.float64),
        dq=np.array([motors[i].dq for i in range(lowlevel.NUM_JOINTS)], dtype=np.float64),
        tau_est=np.array([motors[i].tau_est for i in range(lowlevel.NUM_JOINTS)], dtype=np.float64),
        quat_wxyz=np.array(imu.quaternion, dtype=np.float64),
        gyro=np.array(imu.gyroscope, dtype=np.float64),
        tick=int(msg.tick),
        wireless_remote=bytes(bytearray(int(b) & 0xFF for b in msg.wireless_remote)),
        received_at=received_at,
    )


def fill_low_cmd(msg: Any, command: JointCommand) -> Any:
    """Write a :class:`JointCommand` into a ``LowCmd_`` (head, level flag, servo mode, the 12 leg motors, the
    unused 8 at the stop values) and set its CRC."""
    values = lowlevel.initial_low_cmd()
    n = lowlevel.NUM_JOINTS
    values.q[:n], values.dq[:n], values.tau[:n] = command.q, command.dq, command.tau
    values.kp[:n], values.kd[:n] = command.kp, command.kd
    msg.head = [int(h) for h in values.head]
    msg.level_flag = int(values.level_flag)
    for i in range(lowlevel.NUM_MOTORS):
        motor = msg.motor_cmd[i]
        motor.mode = int(values.mode[i])
        motor.q, motor.dq, motor.tau = float(values.q[i]), float(values.dq[i]), float(values.tau[i])
        motor.kp, motor.kd = float(values.kp[i]), float(values.kd[i])
    msg.crc = lowlevel.low_cmd_crc(values)
    return msg


def from_low_cmd(msg: Any) -> JointCommand:
    """The leg motors of a ``LowCmd_`` as a :class:`JointCommand` (the simulator bridge's side)."""
    motors = [msg.motor_cmd[i] for i in range(lowlevel.NUM_JOINTS)]

    def field(name: str) -> np.ndarray:
        return np.array([getattr(m, name) for m in motors], dtype=np.float64)

    return JointCommand(q=field("q"), dq=field("dq"), kp=field("kp"), kd=field("kd"), tau=field("tau"))


def refuse_if_commanded(sdk: Dict[str, Any], interface: str, domain: int, listen_s: float = 0.3) -> None:
    """DeployError if another process already publishes ``rt/lowcmd`` (sport mode still holding the motors, or a
    second runner): two commanders would fight over the motors (Unitree's rl_lab deploy code checks the same)."""
    seen = threading.Event()
    probe = sdk["ChannelSubscriber"](LOWCMD_TOPIC, sdk["LowCmd_"])
    probe.Init(lambda msg: seen.set(), 0)
    try:
        seen.wait(listen_s)
    finally:
        close_channels(probe)
    if seen.is_set():
        raise DeployError(f"another process is publishing {LOWCMD_TOPIC} on {interface} (domain {domain}): release "
                          "sport mode or stop the other runner first; nothing was sent")


class DdsRobotIO(RobotIO):
    """The robot over DDS: the newest ``rt/lowstate`` (kept by the SDK's listener thread), and ``rt/lowcmd``."""

    def __init__(self, interface: str, domain: int = REAL_DOMAIN, clock: Callable[[], float] = time.monotonic):
        sdk = open_channels(interface, domain)
        self.clock = clock
        self._lock = threading.Lock()
        self._state: Optional[RobotState] = None
        self._cmd = sdk["new_low_cmd"]()
        refuse_if_commanded(sdk, interface, domain)
        self._subscriber = sdk["ChannelSubscriber"](LOWSTATE_TOPIC, sdk["LowState_"])
        self._subscriber.Init(self._on_state, 0)
        self._publisher = sdk["ChannelPublisher"](LOWCMD_TOPIC, sdk["LowCmd_"])
        self._publisher.Init()

    def _on_state(self, msg: Any) -> None:
        state = to_robot_state(msg, self.clock())
        with self._lock:
            self._state = state

    def latest_state(self) -> Optional[RobotState]:
        with self._lock:
            return self._state

    def send(self, command: JointCommand) -> None:
        self._publisher.Write(fill_low_cmd(self._cmd, command))

    def close(self) -> None:
        close_channels(self._subscriber, self._publisher)


def close_channels(*channels: Any) -> None:
    """Close SDK publishers / subscribers, ignoring errors (at exit there is nothing left to protect)."""
    for channel in channels:
        try:
            channel.Close()
        except Exception:  # noqa: BLE001 - the SDK raises anything from a half-closed DDS entity
            pass

"""A simulated robot on DDS: plays the Go2's side of ``rt/lowstate`` / ``rt/lowcmd`` for a joint-level simulator
(``fastembody_core.contracts.JointLevelSim``, e.g. go2-mujoco's), so the unchanged runner drives it.

Unlike unitree_mujoco's bridge, the low-level command's PD law is applied at every physics step (as the motor
drivers do) with the latest command, and the state carries ``tick`` (ms of sim time), the IMU quaternion and
gyro, the remote bytes (:meth:`SimBridge.press` injects buttons) and its CRC. Commands with a wrong CRC are
counted and ignored. Until the first command arrives the motors are off (no torque).
"""
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from . import lowlevel
from .dds import LOWCMD_TOPIC, LOWSTATE_TOPIC, SIM_DOMAIN, close_channels, from_low_cmd, open_channels
from .messages import JointCommand


def _command_crc(msg: Any) -> int:
    values = lowlevel.LowCmdValues()
    values.head = tuple(int(h) for h in msg.head)
    values.level_flag = int(msg.level_flag)
    for i in range(lowlevel.NUM_MOTORS):
        m = msg.motor_cmd[i]
        values.mode[i], values.q[i], values.dq[i] = m.mode, m.q, m.dq
        values.tau[i], values.kp[i], values.kd[i] = m.tau, m.kp, m.kd
    return lowlevel.low_cmd_crc(values)


class SimBridge:
    """``SimBridge(sim, robot_info).run(seconds)``: steps ``sim`` in real time and speaks DDS on ``interface``.

    ``robot_info`` is the bundle manifest's ``robot`` section (``policy_from_sdk`` / ``sdk_from_policy`` map the
    SDK's joint order to the simulator's); the state is published every ``publish_every`` physics steps."""

    def __init__(self, sim: Any, robot_info: Dict[str, Any], interface: str = "lo", domain: int = SIM_DOMAIN,
                 publish_every: int = 1, check_crc: bool = True):
        sdk = open_channels(interface, domain)
        self.sim = sim
        self.policy_from_sdk = np.asarray(robot_info["policy_from_sdk"], dtype=np.int64)
        self.sdk_from_policy = np.asarray(robot_info["sdk_from_policy"], dtype=np.int64)
        self.publish_every = max(1, int(publish_every))
        self.check_crc = check_crc
        self.remote = bytes(lowlevel.REMOTE_SIZE)
        self.commands_received = 0
        self.bad_crc = 0
        self.steps = 0
        self.on_publish: Optional[Callable[[Dict[str, Any], JointCommand], None]] = None
        """Called with what was published (simulator order) and the command in force (SDK order)."""
        self._lock = threading.Lock()
        n = len(self.policy_from_sdk)
        self._command = JointCommand(q=np.zeros(n), dq=np.zeros(n), kp=np.zeros(n), kd=np.zeros(n), tau=np.zeros(n))
        self._new_state = sdk["new_low_state"]
        self._publisher = sdk["ChannelPublisher"](LOWSTATE_TOPIC, sdk["LowState_"])
        self._publisher.Init()
        self._subscriber = sdk["ChannelSubscriber"](LOWCMD_TOPIC, sdk["LowCmd_"])
        self._subscriber.Init(self._on_command, 0)

    def _on_command(self, msg: Any) -> None:
        if self.check_crc and _command_crc(msg) != int(msg.crc):
            self.bad_crc += 1
            return
        command = from_low_cmd(msg)
        with self._lock:
            self._command = command
            self.commands_received += 1

    def press(self, keys: Sequence[str] = (), lx: float = 0.0, rx: float = 0.0, ry: float = 0.0,
              ly: float = 0.0) -> None:
        """Hold these remote buttons / stick values in the published state (``press()`` releases all)."""
        self.remote = lowlevel.encode_remote(list(keys), lx=lx, rx=rx, ry=ry, ly=ly)

    def publish(self) -> Dict[str, Any]:
        """Publish the simulator's current state; returns what it read (simulator order)."""
        s = self.sim.read()
        sdk = self.sdk_from_policy
        msg = self._new_state()
        msg.head = list(lowlevel.HEAD)
        msg.level_flag = lowlevel.LEVEL_LOWLEVEL
        for i in range(len(sdk)):
            motor = msg.motor_state[i]
            motor.mode = lowlevel.MOTOR_MODE_SERVO
            motor.q, motor.dq, motor.tau_est = (float(s["q"][sdk[i]]), float(s["dq"][sdk[i]]),
                                                float(s["tau"][sdk[i]]))
        msg.imu_state.quaternion = [float(v) for v in s["quat_wxyz"]]
        msg.imu_state.gyroscope = [float(v) for v in s["gyro"]]
        msg.tick = int(round(s["time"] * 1000.0)) & 0xFFFFFFFF
        msg.wireless_remote = list(self.remote)
        packed = lowlevel.pack_low_state(quat_wxyz=s["quat_wxyz"], gyro=s["gyro"], q=s["q"][sdk], dq=s["dq"][sdk],
                                         tau_est=s["tau"][sdk], tick=msg.tick, wireless_remote=self.remote,
                                         level_flag=lowlevel.LEVEL_LOWLEVEL,
                                         motor_mode=[lowlevel.MOTOR_MODE_SERVO] * len(sdk))
        msg.crc = int.from_bytes(packed[-4:], "little")
        self._publisher.Write(msg)
        if self.on_publish is not None:
            with self._lock:
                command = self._command
            self.on_publish(s, command)
        return s

    def step(self) -> None:
        """One physics step under the latest command."""
        with self._lock:
            c = self._command
        p = self.policy_from_sdk
        self.sim.step(c.q[p], c.dq[p], c.kp[p], c.kd[p], c.tau[p])
        self.steps += 1

    def run(self, seconds: float, on_step: Optional[Callable[[int], None]] = None,
            stop: Optional[threading.Event] = None) -> List[float]:
        """Step in real time for ``seconds`` of sim time (publishing first); ``on_step(k)`` after each step (e.g.
        grab a video frame). Returns how late each step started [s] (behind real time)."""
        dt = self.sim.physics_dt
        steps = int(round(seconds / dt))
        lateness: List[float] = []
        start = time.monotonic()
        for k in range(steps):
            if stop is not None and stop.is_set():
                break
            if k % self.publish_every == 0:
                self.publish()
            self.step()
            if on_step is not None:
                on_step(k)
            target = start + (k + 1) * dt
            behind = time.monotonic() - target
            lateness.append(max(0.0, behind))
            if behind < 0:
                time.sleep(-behind)
        return lateness

    def close(self) -> None:
        close_channels(self._subscriber, self._publisher)

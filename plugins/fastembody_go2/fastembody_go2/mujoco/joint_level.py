"""One go2-mujoco robot driven like the Go2's motor drivers (``contracts.JointLevelSim``): the robot behind
``fastembody deploy BUNDLE --sim``.

The env's position actuators are reused with the low-level command's gains written in before every physics
step: ``force = kp * ctrl + b0 - kp * q - kd * qdot`` with ``ctrl = q*`` and ``b0 = tau + kd * dq*`` is exactly
``tau + kp (q* - q) + kd (dq* - qdot)``, clipped by the actuator's force range (the torque limit), and MuJoCo's
implicit integrator treats the damping as it does in training. The robot has the env's nominal dynamics (no
randomisation) and ground (flat, or the env's terrain).
"""
import copy
from typing import Any, Dict

import numpy as np

from .model import import_mujoco


class MujocoJointLevelSim:
    """Robot ``env_id`` of a go2-mujoco env, from the env's current state; arrays in legged_gym joint order."""

    def __init__(self, env: Any, env_id: int = 0):
        mujoco = self._mujoco = import_mujoco()
        self.env, self.env_id = env, int(env_id)
        self.model = copy.copy(env.model)  # its own gains: the env's model stays as it was
        self.data = mujoco.MjData(self.model)
        self.layout = env.layout
        self.physics_dt = float(self.model.opt.timestep)
        self._act = self.layout.actuator_of_joint
        self.model.actuator_ctrllimited[self._act] = 0  # a target is the command's, as on the motor driver
        mujoco.mj_setState(self.model, self.data, np.asarray(env.state[self.env_id], dtype=np.float64),
                           mujoco.mjtState.mjSTATE_FULLPHYSICS)
        mujoco.mj_forward(self.model, self.data)

    def step(self, q: Any, dq: Any, kp: Any, kd: Any, tau: Any) -> None:
        act, m = self._act, self.model
        kp, kd = np.asarray(kp, dtype=np.float64), np.asarray(kd, dtype=np.float64)
        m.actuator_gainprm[act, 0] = kp
        m.actuator_biasprm[act, 0] = np.asarray(tau, dtype=np.float64) + kd * np.asarray(dq, dtype=np.float64)
        m.actuator_biasprm[act, 1] = -kp
        m.actuator_biasprm[act, 2] = -kd
        self.data.ctrl[act] = q
        self._mujoco.mj_step(m, self.data)

    def read(self) -> Dict[str, Any]:
        d, layout = self.data, self.layout
        quat = d.qpos[3:7].copy()
        rot = np.empty(9)
        self._mujoco.mju_quat2Mat(rot, quat)
        return {
            "q": d.qpos[layout.qpos_joint].copy(),
            "dq": d.qvel[layout.qvel_joint].copy(),
            "tau": d.actuator_force[self._act].copy(),
            "quat_wxyz": quat,
            "gyro": d.qvel[3:6].copy(),  # a free joint's angular velocity is in the body frame
            "base_lin_vel": rot.reshape(3, 3).T @ d.qvel[0:3],
            "base_pos": d.qpos[0:3].copy(),
            "time": float(d.time),
        }

    def state_vector(self) -> np.ndarray:
        """MuJoCo's FULLPHYSICS state (time, qpos, qvel)."""
        state = np.empty(self.env.state.shape[1])
        self._mujoco.mj_getState(self.model, self.data, state, self._mujoco.mjtState.mjSTATE_FULLPHYSICS)
        return state

    def observation(self, command: Any, last_action: Any) -> Dict[str, np.ndarray]:
        """The env's own observation groups (its code path, its noise setting) of this robot's current state with
        the given command and last action: what a runner's observation must equal."""
        import torch

        env, i = self.env, self.env_id
        with torch.inference_mode():
            env.state[i] = self.state_vector()
            env.sensors[i] = self.data.sensordata
            env.commands[i, :3] = torch.as_tensor(np.asarray(command, dtype=np.float32))
            env.actions[i] = torch.as_tensor(np.asarray(last_action, dtype=np.float32))
            env._observe(env._measure())
            return {k: v[i].cpu().numpy().astype(np.float64) for k, v in env.get_observations().items()}

    def snapshot(self) -> np.ndarray:
        return self.state_vector()

    def render(self, width: int = 640, height: int = 480, snapshot: Any = None) -> Any:
        self.env.state[self.env_id] = self.state_vector() if snapshot is None else snapshot  # the env draws its row
        return self.env.render(self.env_id, width, height)

    def close(self) -> None:
        self.data = None  # type: ignore[assignment]

"""Loading the Go2 MJCF, the joint-order maps between MuJoCo and legged_gym, and per-env dynamics.

MuJoCo orders qpos/qvel by body (FL, FR, RL, RR, as legged_gym does) but the bundled model declares its
actuators in the Unitree SDK order (FR, FL, RR, RL). Every map here is derived from joint and actuator names,
so another MJCF with a different order works unchanged.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import numpy as np

from fastembody_core import EnvError

from .gl import MUJOCO_GL_HINT

from .. import robot

MODEL_PATH = Path(__file__).with_name("go2.xml")
INSTALL_HINT = 'pip install "fastembody-go2[mujoco]"'
FOOT_GEOMS = tuple(f"{leg}_foot" for leg in robot.LEG_NAMES)
BASE_BODY = "base"


def import_mujoco() -> Any:
    """``import mujoco``, or an EnvError naming the extra to install (or the MUJOCO_GL problem)."""
    import importlib.util
    import os

    try:
        import mujoco
    except Exception as exc:
        try:
            installed = importlib.util.find_spec("mujoco") is not None
        except (ImportError, ValueError):
            installed = False
        if not installed or isinstance(exc, ImportError) and "mujoco" in str(getattr(exc, "name", "") or ""):
            raise EnvError(f"go2-mujoco needs the mujoco package; install it with: {INSTALL_HINT}") from None
        raise EnvError(
            f"import mujoco failed with MUJOCO_GL={os.environ.get('MUJOCO_GL', '<unset>')} ({type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:120]}); unset MUJOCO_GL, or {MUJOCO_GL_HINT}"
        ) from None
    return mujoco


@dataclass(frozen=True)
class ModelLayout:
    """Index maps into MuJoCo's arrays, all for joints in legged_gym order (FL, FR, RL, RR × hip, thigh, calf)."""

    nq: int
    nv: int
    nu: int
    nstate: int
    qpos_joint: np.ndarray
    """[12] qpos address of each legged_gym joint."""
    qvel_joint: np.ndarray
    """[12] qvel (dof) address of each legged_gym joint."""
    actuator_of_joint: np.ndarray
    """[12] index of the actuator driving each legged_gym joint: ``ctrl[actuator_of_joint[i]] = target[i]``."""
    joint_of_actuator: np.ndarray
    """[nu] legged_gym index of the joint each actuator drives: ``ctrl = target[..., joint_of_actuator]``."""
    sensors: Dict[str, Tuple[int, int]]
    """Sensor name -> (address, dimension) in sensordata."""
    foot_geoms: np.ndarray
    base_body: int

    def sensor_index(self, names: Tuple[str, ...]) -> np.ndarray:
        """Concatenated sensordata indices of the named sensors, in the given order."""
        out = []
        for name in names:
            if name not in self.sensors:
                raise EnvError(f"the MuJoCo model has no sensor named {name!r}")
            adr, dim = self.sensors[name]
            out.extend(range(adr, adr + dim))
        return np.asarray(out, dtype=np.int64)


def model_layout(model: Any) -> ModelLayout:
    """The index maps of a loaded model; EnvError naming what is missing."""
    mujoco = import_mujoco()

    def ident(kind: Any, name: str, what: str) -> int:
        index = mujoco.mj_name2id(model, kind, name)
        if index < 0:
            raise EnvError(f"the MuJoCo model has no {what} named {name!r}")
        return int(index)

    joint_ids = [ident(mujoco.mjtObj.mjOBJ_JOINT, name, "joint") for name in robot.JOINT_NAMES]
    actuator_of_joint = np.full(robot.NUM_JOINTS, -1, dtype=np.int64)
    joint_of_actuator = np.full(model.nu, -1, dtype=np.int64)
    for act in range(model.nu):
        jid = int(model.actuator_trnid[act, 0])
        if model.actuator_trntype[act] == mujoco.mjtTrn.mjTRN_JOINT and jid in joint_ids:
            lg = joint_ids.index(jid)
            actuator_of_joint[lg], joint_of_actuator[act] = act, lg
    if (actuator_of_joint < 0).any() or (joint_of_actuator < 0).any():
        raise EnvError("the MuJoCo model must have exactly one joint actuator per Go2 joint")
    sensors = {}
    for i in range(model.nsensor):
        name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_SENSOR, i)
        if name:
            sensors[name] = (int(model.sensor_adr[i]), int(model.sensor_dim[i]))
    return ModelLayout(
        nq=int(model.nq),
        nv=int(model.nv),
        nu=int(model.nu),
        nstate=int(mujoco.mj_stateSize(model, mujoco.mjtState.mjSTATE_FULLPHYSICS)),
        qpos_joint=np.asarray([model.jnt_qposadr[j] for j in joint_ids], dtype=np.int64),
        qvel_joint=np.asarray([model.jnt_dofadr[j] for j in joint_ids], dtype=np.int64),
        actuator_of_joint=actuator_of_joint,
        joint_of_actuator=joint_of_actuator,
        sensors=sensors,
        foot_geoms=np.asarray([ident(mujoco.mjtObj.mjOBJ_GEOM, g, "geom") for g in FOOT_GEOMS], dtype=np.int64),
        base_body=ident(mujoco.mjtObj.mjOBJ_BODY, BASE_BODY, "body"),
    )


def load_model(physics: Any = None, model_file: Optional[str] = None) -> Any:
    """Load the MJCF and write the physics params (``MujocoPhysicsParams``) into it."""
    mujoco = import_mujoco()
    path = Path(model_file or getattr(physics, "model_file", None) or MODEL_PATH)
    if not path.is_file():
        raise EnvError(f"MuJoCo model file {path} not found")
    try:
        model = mujoco.MjModel.from_xml_path(str(path))
    except ValueError as exc:
        raise EnvError(f"cannot load MuJoCo model {path}: {' '.join(str(exc).split())}") from None
    if physics is not None:
        configure_model(model, physics)
    return model


def configure_model(model: Any, physics: Any) -> None:
    """Set PD gains, torque limits and joint constants from a ``MujocoPhysicsParams`` (in place)."""
    mujoco = import_mujoco()
    layout = model_layout(model)
    limits = np.asarray(robot.TORQUE_LIMITS, dtype=np.float64)
    limits[2::3] = float(physics.knee_torque_limit)
    for lg, act in enumerate(layout.actuator_of_joint):
        model.actuator_gainprm[act, 0] = physics.kp
        model.actuator_biasprm[act, :3] = (0.0, -physics.kp, -physics.kd)
        model.actuator_forcerange[act] = (-limits[lg], limits[lg])
        model.actuator_forcelimited[act] = 1
    dofs = layout.qvel_joint
    model.dof_damping[dofs] = physics.joint_damping
    model.dof_frictionloss[dofs] = physics.joint_friction
    model.dof_armature[dofs] = physics.armature
    if physics.elliptic_cone:
        model.opt.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
    model.opt.impratio = physics.impratio
    model.opt.timestep = robot.SIM_DT


@dataclass
class NominalDynamics:
    """The values per-env randomisation scales or offsets, read once from the configured model."""

    base_mass: float
    gainprm: np.ndarray
    biasprm: np.ndarray

    @classmethod
    def of(cls, model: Any, layout: ModelLayout) -> "NominalDynamics":
        return cls(
            base_mass=float(model.body_mass[layout.base_body]),
            gainprm=model.actuator_gainprm[:, 0].copy(),
            biasprm=model.actuator_biasprm[:, :3].copy(),
        )


def set_env_dynamics(
    model: Any, layout: ModelLayout, nominal: NominalDynamics, friction: float, payload: float, strength: float
) -> None:
    """Write one env's randomised dynamics into its own MjModel copy.

    ``friction``: the feet's sliding friction (the feet have contact priority, so theirs is the one used);
    ``payload``: kg added to the base; ``strength``: factor on the PD torque before the torque limit (kp and kv
    both scale, as go2-toy's ``clip(strength * (kp (q* - q) - kd q̇))``).
    """
    model.geom_friction[layout.foot_geoms, 0] = friction
    model.body_mass[layout.base_body] = nominal.base_mass + payload
    model.actuator_gainprm[:, 0] = nominal.gainprm * strength
    model.actuator_biasprm[:, :3] = nominal.biasprm * strength


def home_state(model: Any, layout: ModelLayout, base_height: float = robot.NOMINAL_BASE_HEIGHT + 0.01) -> np.ndarray:
    """The FULLPHYSICS state vector of the robot standing in the default pose (zero velocity, time 0)."""
    mujoco = import_mujoco()
    data = mujoco.MjData(model)
    data.qpos[:] = model.qpos0
    data.qpos[2] = base_height
    data.qpos[3:7] = (1.0, 0.0, 0.0, 0.0)
    data.qpos[layout.qpos_joint] = robot.DEFAULT_JOINT_POS
    state = np.zeros(layout.nstate, dtype=np.float64)
    mujoco.mj_getState(model, data, state, mujoco.mjtState.mjSTATE_FULLPHYSICS)
    return state

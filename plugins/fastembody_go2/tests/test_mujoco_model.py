"""The go2-mujoco MJCF before any RL: mass, joint-order maps, standing, a drop, left/right mirror symmetry."""
import mujoco  # the mujoco extra is installed by scripts/setup.sh: a missing one fails here, it never skips
import numpy as np
import pytest

from fastembody_go2 import robot
from fastembody_go2.mujoco.config import MujocoPhysicsParams
from fastembody_go2.mujoco.model import home_state, load_model, model_layout

MG = robot.TOTAL_MASS * robot.GRAVITY
FULL = mujoco.mjtState.mjSTATE_FULLPHYSICS
Q0 = np.asarray(robot.DEFAULT_JOINT_POS)
SWAP = [3, 4, 5, 0, 1, 2, 9, 10, 11, 6, 7, 8]  # legged_gym order: FL<->FR, RL<->RR
SIGN = np.asarray([-1.0, 1.0, 1.0] * 4)  # abduction angles flip sign in the mirror


@pytest.fixture(scope="module")
def model():
    return load_model(MujocoPhysicsParams())


@pytest.fixture(scope="module")
def layout(model):
    return model_layout(model)


def run(model, layout, state, targets_lg, steps):
    """Step one MjData from a FULLPHYSICS ``state`` with PD targets (legged_gym order); returns the data."""
    data = mujoco.MjData(model)
    mujoco.mj_setState(model, data, state, FULL)
    data.ctrl[:] = np.asarray(targets_lg)[layout.joint_of_actuator]
    for _ in range(steps):
        mujoco.mj_step(model, data)
    return data


def sensor(model, data, name):
    return data.sensor(name).data.copy()


def foot_forces(model, data):
    return np.array([sensor(model, data, f"{leg}_foot_force")[0] for leg in robot.LEG_NAMES])


def test_mass_inertia_and_options_are_the_published_ones(model):
    assert mujoco.mj_getTotalmass(model) == pytest.approx(robot.TOTAL_MASS, abs=1e-3)
    assert model.opt.timestep == pytest.approx(0.005)
    assert model.opt.integrator == mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    assert model.opt.cone == mujoco.mjtCone.mjCONE_PYRAMIDAL
    assert model.body("base").mass[0] == pytest.approx(robot.BASE_MASS)
    assert model.body("FR_thigh").mass[0] == pytest.approx(robot.THIGH_MASS)
    # PD: tau = clip(kp (q* - q) - kd qdot, limit), limits 23.7 / 23.7 / 35.55 N m
    act = model.actuator("FL_calf")
    assert act.gainprm[0] == pytest.approx(20.0) and tuple(act.biasprm[:3]) == pytest.approx((0.0, -20.0, -0.5))
    assert tuple(act.forcerange) == pytest.approx((-35.55, 35.55))
    assert tuple(model.actuator("RR_hip").forcerange) == pytest.approx((-23.7, 23.7))


def test_joint_order_maps_by_name(model, layout):
    """qpos is in legged_gym order; actuators are in the SDK order FR, FL, RR, RL and mapped by name."""
    qpos_names = [model.joint(j).name for j in range(1, model.njnt)]
    assert qpos_names == list(robot.JOINT_NAMES)
    actuator_names = [model.actuator(a).name for a in range(model.nu)]
    assert actuator_names[:3] == ["FR_hip", "FR_thigh", "FR_calf"] and actuator_names[3] == "FL_hip"
    for lg, name in enumerate(robot.JOINT_NAMES):
        act = layout.actuator_of_joint[lg]
        assert model.joint(int(model.actuator_trnid[act, 0])).name == name
        assert layout.joint_of_actuator[act] == lg
        assert model.joint(name).qposadr[0] == layout.qpos_joint[lg]
    np.testing.assert_array_equal(layout.actuator_of_joint, robot.LEGGED_GYM_FROM_SDK)
    # a target on FL_calf (legged_gym index 2) moves the FL calf joint and nothing else much
    state = home_state(model, layout)
    target = Q0.copy()
    target[2] += 0.4
    rest = run(model, layout, state, Q0, 20).qpos[layout.qpos_joint]
    moved = run(model, layout, state, target, 20).qpos[layout.qpos_joint]
    delta = np.abs(moved - rest)
    assert delta.argmax() == 2 and delta[2] > 0.15


def stand(physics, seconds_settle=2.5, seconds=7.5):
    model = load_model(physics)
    layout = model_layout(model)
    data = run(model, layout, home_state(model, layout), Q0, int(seconds_settle / 0.005))
    settled_xy, settled_z = data.qpos[:2].copy(), data.qpos[2]
    trunk = 0.0
    for _ in range(int(seconds / 0.005)):
        mujoco.mj_step(model, data)
        trunk = max(trunk, sensor(model, data, "trunk_touch")[0])
    return model, layout, data, settled_xy, settled_z, trunk


def test_stands_under_zero_action_with_the_expected_sag():
    """Zero action (targets = q0) stands: kp 20 sags the 0.324 m stance, as go2_model.md §5 measured."""
    model, layout, data, settled_xy, settled_z, trunk = stand(MujocoPhysicsParams())
    assert 0.22 < data.qpos[2] < 0.28
    assert trunk == 0.0
    assert abs(data.qpos[4]) < 0.01 and abs(data.qpos[5]) < 0.02  # upright (quaternion x, y)
    knee_error = Q0[2] - data.qpos[layout.qpos_joint[2]]
    assert 0.2 < knee_error < 0.45  # ~6 N·m knee load / kp 20
    assert abs(foot_forces(model, data).sum() - MG) / MG < 0.01
    # MuJoCo's soft pyramidal friction lets the splayed feet creep outward (documented in docs/go2_mujoco.md) ...
    assert 0.0 < settled_z - data.qpos[2] < 0.03 and np.linalg.norm(data.qpos[:2] - settled_xy) < 0.03
    # ... which Menagerie's impratio 100 all but stops (< 1 mm/s left)
    model, layout, data, settled_xy, settled_z, trunk = stand(MujocoPhysicsParams(impratio=100.0))
    assert abs(settled_z - data.qpos[2]) < 1e-3 and np.linalg.norm(data.qpos[:2] - settled_xy) < 0.01


def test_drop_settles_with_the_feet_carrying_the_weight(model, layout):
    state = home_state(model, layout, base_height=0.40)
    data = run(model, layout, state, Q0, 1)
    peak = 0.0
    for _ in range(600):  # 3 s
        mujoco.mj_step(model, data)
        peak = max(peak, foot_forces(model, data).sum())
        assert sensor(model, data, "trunk_touch")[0] == 0.0 and sensor(model, data, "head_touch")[0] == 0.0
    forces = foot_forces(model, data)
    assert abs(forces.sum() - MG) / MG < 0.01
    assert peak > 1.2 * MG  # the landing was an impact
    assert (forces > 0.15 * MG).all()  # all four feet carry load
    legs = np.array([sensor(model, data, f"{leg}_{p}_touch")[0] for p in ("thigh", "calf") for leg in robot.LEG_NAMES])
    assert (legs == 0.0).all()  # only the feet touch


def mirror(state, layout):
    """Reflect a FULLPHYSICS state (time, qpos, qvel) in the x-z plane."""
    out = state.copy()
    qpos, qvel = 1, 1 + layout.nq
    out[qpos + 1] *= -1.0  # y
    out[qpos + 3: qpos + 7] *= np.array([1.0, -1.0, 1.0, -1.0])  # quaternion
    joints = qpos + layout.qpos_joint
    out[joints] = state[joints][SWAP] * SIGN
    out[qvel + 1] *= -1.0  # world linear velocity
    out[qvel + 3: qvel + 6] *= np.array([-1.0, 1.0, -1.0])  # body angular velocity (a pseudo-vector)
    dofs = qvel + layout.qvel_joint
    out[dofs] = state[dofs][SWAP] * SIGN
    return out


def test_left_right_mirror_symmetry(model, layout):
    rng = np.random.default_rng(0)
    state = home_state(model, layout, base_height=0.33)
    qvel = 1 + layout.nq
    state[qvel: qvel + 6] = 0.3 * rng.standard_normal(6)
    state[1 + layout.qpos_joint] += 0.1 * rng.standard_normal(12)
    data, mirrored = mujoco.MjData(model), mujoco.MjData(model)
    mujoco.mj_setState(model, data, state, FULL)
    mujoco.mj_setState(model, mirrored, mirror(state, layout), FULL)
    for _ in range(50):  # 1 s of policy steps with random targets
        target = Q0 + 0.2 * rng.standard_normal(12)
        data.ctrl[:] = target[layout.joint_of_actuator]
        mirrored.ctrl[:] = (target[SWAP] * SIGN)[layout.joint_of_actuator]
        mujoco.mj_step(model, data, 4)
        mujoco.mj_step(model, mirrored, 4)
    a, b = np.zeros(layout.nstate), np.zeros(layout.nstate)
    mujoco.mj_getState(model, data, a, FULL)
    mujoco.mj_getState(model, mirrored, b, FULL)
    np.testing.assert_allclose(mirror(a, layout), b, atol=2e-3)
    assert abs(a[2]) > 0.01  # the robot moved sideways, so the check is not trivial

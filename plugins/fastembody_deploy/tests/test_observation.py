"""The runner's observation equals the manifest's recipe: terms in order, scales, policy joint order, clip."""
import numpy as np

from fastembody_deploy.bundle import load_bundle
from fastembody_deploy.messages import RobotState
from fastembody_deploy.observation import ObservationBuilder


def test_observation_follows_the_manifest(bundle_factory):
    b = load_bundle(bundle_factory())
    q_policy = b.default_joint_pos + np.arange(12) * 0.01
    dq_policy = np.arange(12) * 1.0
    state = RobotState(q=q_policy[b.sdk_from_policy], dq=dq_policy[b.sdk_from_policy],
                       quat_wxyz=np.array([1.0, 0.0, 0.0, 0.0]), gyro=np.array([1.0, -2.0, 4.0]))
    last = np.linspace(-1, 1, 12)
    obs = ObservationBuilder(b).build(state, np.array([0.5, -0.2, 1.0]), last)
    expected = np.concatenate([[0.25, -0.5, 1.0], [0.0, 0.0, -1.0], [1.0, -0.4, 0.25], np.arange(12) * 0.01,
                               np.arange(12) * 0.05, last])
    assert obs.dtype == np.float32 and obs.shape == (45,)
    assert np.allclose(obs, expected, atol=1e-6)


def test_observations_are_clipped(bundle_factory):
    b = load_bundle(bundle_factory())
    state = RobotState(q=b.default_joint_pos[b.sdk_from_policy], dq=np.full(12, 1e5),
                       quat_wxyz=np.array([1.0, 0.0, 0.0, 0.0]), gyro=np.zeros(3))
    terms = ObservationBuilder(b).terms(state, np.zeros(3), np.zeros(12))
    assert np.allclose(terms["joint_vel"], b.clip_observations)

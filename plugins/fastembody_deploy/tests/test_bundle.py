"""Reading a bundle on the robot side: what it accepts, and the one line for each thing it refuses."""
import json

import numpy as np
import pytest

from fastembody_deploy.bundle import OnnxPolicy, load_bundle
from fastembody_deploy.errors import DeployError


def test_a_bundle_loads_with_its_maps_and_scales(bundle_factory):
    b = load_bundle(bundle_factory())
    assert b.obs_dim == 45 and b.terms[0] == "base_ang_vel"
    assert b.sdk_from_policy.tolist() == [3, 4, 5, 0, 1, 2, 9, 10, 11, 6, 7, 8]
    assert np.array_equal(b.policy_from_sdk[b.sdk_from_policy], np.arange(12))  # maps both ways
    assert b.term_scales["commands"].tolist() == [2.0, 2.0, 0.25]
    assert b.max_tilt == pytest.approx(0.8)


def test_the_policy_runs_and_carries_its_recurrent_state(bundle_factory):
    policy = OnnxPolicy(load_bundle(bundle_factory(actions=0.5, recurrent=True)))
    assert np.allclose(policy.act(np.zeros(45)), 0.5)
    policy.act(np.zeros(45))
    assert np.allclose(policy.state, 2.0)
    policy.reset()
    assert np.allclose(policy.state, 0.0)


def _edit(path, **changes):
    manifest = json.loads((path / "manifest.json").read_text())
    for dotted, value in changes.items():
        node, keys = manifest, dotted.split("__")
        for key in keys[:-1]:
            node = node[key]
        if value is None:
            del node[keys[-1]]
        else:
            node[keys[-1]] = value
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


@pytest.mark.parametrize("change, words", [
    ({"schema_version": 2}, "schema version 2"),
    ({"schema": "other"}, "not a fastembody.bundle manifest"),
    ({"robot__joint_names": ["a"] * 10}, "drives 10 joints, the robot has 12"),
    ({"observation__terms": ["base_lin_vel", "projected_gravity"]}, "cannot measure"),
    ({"observation__history_length": 3}, "history_length 3"),
    ({"observation__dim": 48}, "45 wide"),
    ({"robot__kp": None}, "lacks kp"),
    ({"robot__sdk_from_policy": [0] * 12}, "not a permutation"),
    ({"robot__observation_terms__joint_vel": None}, "does not describe"),
])
def test_a_bad_manifest_is_one_named_line(bundle_factory, change, words):
    path = _edit(bundle_factory(), **change)
    with pytest.raises(DeployError, match=words) as info:
        load_bundle(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_a_missing_file_or_directory_is_named(bundle_factory, tmp_path):
    path = bundle_factory()
    (path / "policy.onnx").unlink()
    with pytest.raises(DeployError, match="policy.onnx is missing"):
        load_bundle(path)
    with pytest.raises(DeployError, match="not a directory"):
        load_bundle(tmp_path / "nowhere")


def test_changed_weights_fail_the_hash(bundle_factory):
    path = bundle_factory()
    data = bytearray((path / "policy.onnx").read_bytes())
    data[-8] ^= 0xFF
    (path / "policy.onnx").write_bytes(bytes(data))
    with pytest.raises(DeployError, match="sha256 differs"):
        load_bundle(path)


def test_onnx_inputs_that_do_not_match_the_manifest_are_refused(bundle_factory):
    path = _edit(bundle_factory(), policy__inputs=["observations"])
    with pytest.raises(DeployError, match="has inputs"):
        OnnxPolicy(load_bundle(path))

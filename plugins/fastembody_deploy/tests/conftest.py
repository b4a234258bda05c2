"""Bundles for the runner's tests, built without torch: a Go2-like manifest and a small ONNX graph (onnx.helper)
whose actions are ``obs @ W + b`` (and, recurrent, ``h_out = h_in + 1``)."""
import hashlib
import json
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import numpy as np
import pytest

SDK_FROM_POLICY = [3, 4, 5, 0, 1, 2, 9, 10, 11, 6, 7, 8]
LEGS = ("FL", "FR", "RL", "RR")
TERMS = ("base_ang_vel", "projected_gravity", "commands", "joint_pos", "joint_vel", "actions")
DIMS = {"base_ang_vel": 3, "projected_gravity": 3, "commands": 3, "joint_pos": 12, "joint_vel": 12, "actions": 12}
SCALES = {"base_ang_vel": 0.25, "projected_gravity": 1.0, "commands": [2.0, 2.0, 0.25], "joint_pos": 1.0,
          "joint_vel": 0.05, "actions": 1.0}


def robot_section() -> Dict[str, Any]:
    """A Go2-like ``robot`` section (the numbers of fastembody_go2.deployment, written out)."""
    return {
        "robot": "unitree_go2",
        "joint_names": [f"{leg}_{part}_joint" for leg in LEGS for part in ("hip", "thigh", "calf")],
        "policy_from_sdk": SDK_FROM_POLICY, "sdk_from_policy": SDK_FROM_POLICY,
        "default_joint_pos": [0.1, 0.8, -1.5, -0.1, 0.8, -1.5, 0.1, 1.0, -1.5, -0.1, 1.0, -1.5],
        "kp": 20.0, "kd": 0.5, "action_scale": 0.25, "clip_actions": 100.0, "control_dt": 0.02,
        "clip_observations": 100.0,
        "joint_lower": [-1.0472, -1.5708, -2.7227] * 4, "joint_upper": [1.0472, 3.4907, -0.8378] * 4,
        "command_ranges": {"lin_vel_x": [-1.0, 1.0], "lin_vel_y": [-1.0, 1.0], "ang_vel_yaw": [-1.0, 1.0]},
        "fall_limits": {"max_roll": 0.8, "max_pitch": 1.0},
        "observation_terms": {t: {"dim": DIMS[t], "scale": SCALES[t]} for t in TERMS},
    }


def write_onnx(path: Path, obs_dim: int, weights: np.ndarray, bias: np.ndarray, state: Optional[int] = None) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [helper.make_node("MatMul", ["obs", "W"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["actions"])]
    inits = [numpy_helper.from_array(weights.astype(np.float32), "W"),
             numpy_helper.from_array(bias.astype(np.float32).reshape(1, -1), "b")]
    inputs = [helper.make_tensor_value_info("obs", TensorProto.FLOAT, [1, obs_dim])]
    outputs = [helper.make_tensor_value_info("actions", TensorProto.FLOAT, [1, weights.shape[1]])]
    if state:
        nodes.append(helper.make_node("Add", ["h_in", "one"], ["h_out"]))
        inits.append(numpy_helper.from_array(np.ones((1, 1, state), dtype=np.float32), "one"))
        inputs.append(helper.make_tensor_value_info("h_in", TensorProto.FLOAT, [1, 1, state]))
        outputs.append(helper.make_tensor_value_info("h_out", TensorProto.FLOAT, [1, 1, state]))
    graph = helper.make_graph(nodes, "policy", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


def sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def make_bundle(directory: Path, actions: Any = 0.0, weights: Optional[np.ndarray] = None, recurrent: bool = False,
                robot: Optional[Dict[str, Any]] = None, **manifest_changes: Any) -> Path:
    """Write a bundle whose policy returns ``obs @ weights + actions`` (policy joint order)."""
    directory.mkdir(parents=True, exist_ok=True)
    obs_dim = sum(DIMS.values())
    w = np.zeros((obs_dim, 12)) if weights is None else weights
    write_onnx(directory / "policy.onnx", obs_dim, w, np.broadcast_to(np.asarray(actions, dtype=float), (12,)),
               state=8 if recurrent else None)
    manifest = {
        "schema": "fastembody.bundle", "schema_version": 1, "created_by": "test",
        "run": {"dir": "test", "env": "go2-toy"},
        "policy": {"file": "policy.onnx", "sha256": sha256(directory / "policy.onnx"),
                   "inputs": ["obs", "h_in"] if recurrent else ["obs"],
                   "outputs": ["actions", "h_out"] if recurrent else ["actions"], "recurrent": recurrent,
                   "action_dim": 12, "state_shape": [1, 1, 8] if recurrent else None},
        "observation": {"groups": ["deployable"], "terms": list(TERMS), "dim": obs_dim, "history_length": 1},
        "robot": robot or robot_section(),
    }
    manifest.update(manifest_changes)
    (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return directory


@pytest.fixture
def bundle_factory(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(1000))
    return lambda **kw: make_bundle(tmp_path / f"bundle{next(counter)}", **kw)


@pytest.fixture
def robot_info() -> Dict[str, Any]:
    return robot_section()

"""Exporting a run's policy: TorchScript and ONNX match the torch module; the sidecar describes the I/O."""
import json

import numpy as np
import onnxruntime
import pytest
import torch
from core.fakes import FakePlugin, train_fake_run

from fastembody_core import ConfigError, FastEmbodyError
from fastembody_core.evaluation import load_run
from fastembody_core.export import export_run


@pytest.fixture
def run_dir(tmp_path, register_plugin):
    register_plugin(FakePlugin(), "fake-plugin")
    train_fake_run(tmp_path / "run", max_iterations=2, save_interval=1)
    return tmp_path / "run"


def reference_policy(run_dir):
    loaded = load_run(run_dir, max_envs=1)
    loaded.env.close()
    return loaded.algorithm.export_policy()


def test_onnx_matches_torch(run_dir):
    path = export_run(run_dir, fmt="onnx")
    assert path == run_dir / "exported" / "policy.onnx"
    policy = reference_policy(run_dir)
    obs = torch.randn(7, 3)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (actions,) = session.run(None, {"obs": obs.numpy()})
    with torch.no_grad():
        expected = policy(obs).numpy()
    np.testing.assert_allclose(actions, expected, rtol=1e-5, atol=1e-5)
    assert not np.allclose(expected, policy.linear(obs).detach().numpy())  # the normaliser is in there

    info = json.loads((run_dir / "exported" / "policy.onnx.json").read_text())
    assert info["format"] == "onnx" and info["file"] == "policy.onnx"
    assert info["obs_groups"] == ["policy"] and info["obs_dim"] == 3 and info["action_dim"] == 2
    assert info["joint_names"] == ["j0", "j1"] and info["input_names"] == ["obs"]
    assert info["verified_against_torch"] is True and info["opset"] >= 17 and info["iteration"] == 2


def test_torchscript_matches_torch(run_dir, tmp_path):
    path = export_run(run_dir, fmt="torchscript", checkpoint=1, output=tmp_path / "out" / "p.pt")
    assert path == tmp_path / "out" / "p.pt"
    loaded = torch.jit.load(str(path))
    obs = torch.randn(4, 3)
    policy = reference_policy(run_dir)  # latest (2) differs from checkpoint 1
    assert not torch.allclose(loaded(obs), policy(obs))
    info = json.loads((tmp_path / "out" / "p.pt.json").read_text())
    assert info["iteration"] == 1 and info["format"] == "torchscript"


def test_onnx_without_the_onnx_package_names_the_extra(run_dir, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnx" else real(name, *a))
    with pytest.raises(FastEmbodyError, match=r"ONNX export needs the onnx package: pip install "
                                              r"'fastembody-core\[export\]'"):
        export_run(run_dir, fmt="onnx")
    assert not (run_dir / "exported" / "policy.onnx").exists()


def test_unknown_format(run_dir):
    with pytest.raises(ConfigError, match="unknown export format 'tflite'"):
        export_run(run_dir, fmt="tflite")


class RecurrentPolicy(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = torch.nn.GRU(3, 4)
        self.head = torch.nn.Linear(4, 2)
        self.obs_groups = ["policy"]

    @torch.jit.export
    def initial_state(self, batch: int) -> torch.Tensor:
        return torch.zeros(1, batch, 4)

    def forward(self, obs, h):
        y, h = self.cell(obs.unsqueeze(0), h)
        return self.head(y.squeeze(0)), h


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_recurrent_policy_exports_with_state(run_dir, monkeypatch, fmt):
    from core.fakes import FakeAlgorithm

    torch.manual_seed(0)
    recurrent = RecurrentPolicy()
    monkeypatch.setattr(FakeAlgorithm, "export_policy", lambda self: recurrent)
    path = export_run(run_dir, fmt=fmt)
    info = json.loads(path.with_name(path.name + ".json").read_text())
    assert info["recurrent"] is True and info["state_shape"] == [1, 1, 4]
    assert info["input_names"] == ["obs", "h_in"] and info["output_names"] == ["actions", "h_out"]
    assert info["verified_against_torch"] is True

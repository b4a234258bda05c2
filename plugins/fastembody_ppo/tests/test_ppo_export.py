"""The deployable policy: normaliser baked in, matches the training actor in TorchScript and ONNX."""
import io

import numpy as np
import pytest
import torch
from ppo_testing import make_ppo, train


@pytest.fixture
def trained(env):
    algo = make_ppo(env, obs_normalization=True)
    train(algo, env, iterations=2)
    assert algo.actor.model.normalizer.count > 0
    return algo


def test_exported_policy_is_the_deterministic_actor(trained, env):
    policy = trained.export_policy()
    assert policy.obs_groups == ["policy"]
    obs = env.get_observations()
    with torch.no_grad():
        torch.testing.assert_close(policy(obs["policy"]), trained.act_inference(obs))
    assert all(p.device.type == "cpu" for p in policy.parameters())


def test_torchscript_script_and_trace_match(trained, env):
    policy = trained.export_policy()
    x = env.get_observations()["policy"]
    scripted = torch.jit.script(policy)
    buf = io.BytesIO()
    torch.jit.save(scripted, buf)
    buf.seek(0)
    loaded = torch.jit.load(buf)
    traced = torch.jit.trace(policy, x[:1])
    with torch.no_grad():
        expected = policy(x)
        torch.testing.assert_close(loaded(x), expected)
        torch.testing.assert_close(traced(x), expected)
    assert list(loaded.obs_groups) == ["policy"]


def test_onnx_export_matches_torch(trained, env, tmp_path):
    import onnxruntime as ort
    policy = trained.export_policy().eval()
    x = env.get_observations()["policy"]
    path = tmp_path / "policy.onnx"
    torch.onnx.export(
        policy, (x[:1],), str(path), input_names=["obs"], output_names=["actions"],
        dynamic_axes={"obs": {0: "batch"}, "actions": {0: "batch"}}, opset_version=17, dynamo=False,
    )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (onnx_actions,) = session.run(None, {"obs": x.numpy()})
    with torch.no_grad():
        np.testing.assert_allclose(onnx_actions, policy(x).numpy(), rtol=1e-5, atol=1e-5)


def test_recurrent_export_carries_its_state(env):
    algo = make_ppo(env, rnn_type="gru", rnn_hidden_size=8)
    policy = algo.export_policy()
    scripted = torch.jit.script(policy)
    x = env.get_observations()["policy"]
    h = scripted.initial_state(x.shape[0])
    algo.reset()
    for _ in range(3):
        actions, h = scripted(x, h)
        torch.testing.assert_close(actions, algo.act_inference({"policy": x}))

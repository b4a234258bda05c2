"""The student: history stacking, and exports (TorchScript, ONNX) that match it step by step."""
import numpy as np
import onnxruntime
import pytest
import torch

from fastembody_core.export import export_onnx, export_torchscript
from fastembody_distill.student import ExportedHistoryPolicy, Student, student_spec

FRAME, ACTIONS = 6, 3


def _student(history=1, rnn_type="none"):
    torch.manual_seed(0)
    student = Student(student_spec(["deployable"], FRAME, ACTIONS, [16, 16], history_length=history,
                                   rnn_type=rnn_type, rnn_hidden_size=8))
    student.model.normalizer.update(torch.randn(64, student.input_dim) * 2.0 + 0.5)
    return student


def test_history_input_is_the_last_frames_oldest_first_zeros_before_the_start():
    student = _student(history=3)
    frames = [torch.full((2, FRAME), float(t + 1)) for t in range(4)]
    state = student.initial_state(2)
    inputs = []
    for frame in frames:
        x, state = student.observe(frame, state)
        inputs.append(x[0].view(3, FRAME)[:, 0].tolist())
    assert inputs == [[0, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 4]]
    assert state.shape == (1, 2, 2 * FRAME)


@pytest.mark.parametrize("history, rnn_type", [(1, "none"), (4, "none"), (1, "gru"), (1, "lstm")])
def test_export_matches_the_student_over_an_episode(history, rnn_type):
    student = _student(history, rnn_type)
    exported = student.export()
    assert exported.obs_groups == ["deployable"]
    stateful = hasattr(exported, "initial_state")
    assert stateful == (history > 1 or rnn_type != "none")
    frames = torch.randn(5, 2, FRAME)
    state = student.initial_state(2)
    h = exported.initial_state(2) if stateful else None
    with torch.no_grad():
        for frame in frames:
            want, state, _ = student.act(frame, state)
            if stateful:
                have, h = exported(frame, h)
            else:
                have = exported(frame)
            assert torch.allclose(want, have, atol=1e-6)


@pytest.mark.parametrize("history, rnn_type", [(4, "none"), (1, "gru")])
def test_torchscript_and_onnx_take_one_frame_and_the_state(tmp_path, history, rnn_type):
    module = _student(history, rnn_type).export()
    obs, h = torch.randn(3, FRAME), torch.randn(module.initial_state(3).shape)
    with torch.no_grad():
        want_actions, want_h = module(obs, h)
    scripted = torch.jit.load(str(export_torchscript(module, [obs[:1], h[:, :1]], tmp_path / "p.pt")))
    assert scripted.initial_state(3).shape == h.shape
    have_actions, have_h = scripted(obs, h)
    assert torch.allclose(want_actions, have_actions, atol=1e-6) and torch.allclose(want_h, have_h)
    path = export_onnx(module, [obs[:1], h[:, :1]], tmp_path / "p.onnx", recurrent=True)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["obs", "h_in"]
    assert session.get_inputs()[0].shape[1] == FRAME
    actions, h_out = session.run(None, {"obs": obs.numpy(), "h_in": h.numpy()})
    assert np.allclose(actions, want_actions.numpy(), atol=1e-5) and np.allclose(h_out, want_h.numpy(), atol=1e-6)


def test_history_export_state_is_the_raw_previous_frames():
    module = _student(history=3).export()
    assert isinstance(module, ExportedHistoryPolicy) and module.initial_state(1).shape == (1, 1, 2 * FRAME)
    h = module.initial_state(1)
    for t in range(3):
        _, h = module(torch.full((1, FRAME), float(t + 1)), h)
    assert h.view(2, FRAME)[:, 0].tolist() == [2.0, 3.0]

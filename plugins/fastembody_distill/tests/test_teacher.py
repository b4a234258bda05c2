"""The teacher: rebuilt from a checkpoint through fastembody_core only; one named error per bad input."""
import pytest
import torch

from fastembody_core import CheckpointError, save_checkpoint
from fastembody_core.nn import GaussianActor, policy_spec
from fastembody_distill.teacher import Teacher, read_teacher_state, resolve_teacher_path


def test_missing_file_is_a_named_error(tmp_path):
    with pytest.raises(CheckpointError, match=r"teacher_checkpoint: checkpoint .*nope.pt does not exist; train a teacher first"):
        resolve_teacher_path(str(tmp_path / "nope.pt"))


def test_run_directory_means_its_latest_checkpoint(tmp_path, teacher_file):
    spec = policy_spec(["policy"], 4, 2, [8])
    for n in (5, 20, 10):
        teacher_file(tmp_path / "run" / "checkpoints" / f"model_{n}.pt", spec)
    assert resolve_teacher_path(str(tmp_path / "run")).name == "model_20.pt"
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="holds no checkpoint"):
        resolve_teacher_path(str(tmp_path / "empty"))


def test_checkpoint_of_another_algorithm_is_a_named_error(tmp_path):
    path = tmp_path / "other.pt"
    save_checkpoint(path, {"iteration": 3, "algorithm": "distillation", "algorithm_state": {"student_state": {}}})
    with pytest.raises(CheckpointError, match=r"written by algorithm 'distillation', which stores no teacher policy"):
        read_teacher_state(path)


def test_not_a_checkpoint_is_a_named_error(tmp_path):
    path = tmp_path / "junk.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        read_teacher_state(path)


def test_shape_mismatch_names_both_shapes(go2_spec, go2_teacher):
    state = read_teacher_state(go2_teacher(["policy"], 48))
    shapes = go2_spec(shapes={"policy": (45,), "deployable": (45,)}).observation_shapes
    with pytest.raises(CheckpointError, match=r"expects observations of shape \(48,\).*gives shape \(45,\) \(policy: \(45,\)\)"):
        Teacher(state, shapes, None, 4, torch.device("cpu"), "t.pt")
    with pytest.raises(CheckpointError, match=r"reads observation group\(s\) \['critic'\] but the env provides"):
        Teacher(state, {"policy": (48,)}, ["critic"], 4, torch.device("cpu"))


def test_teacher_is_frozen_deterministic_and_uses_its_normaliser(tmp_path, go2_spec, teacher_file):
    spec = policy_spec(["policy"], 48, 12, [16], obs_normalization=True)
    actor = GaussianActor(spec)
    normalizer = actor.model.normalizer
    normalizer.update(torch.randn(256, 48) * 3.0 + 1.0)
    state = read_teacher_state(teacher_file(tmp_path / "t.pt", spec, actor))
    teacher = Teacher(state, go2_spec().observation_shapes, None, 8, torch.device("cpu"))
    assert not teacher.actor.training and not any(p.requires_grad for p in teacher.actor.parameters())
    obs = {"policy": torch.randn(8, 48), "deployable": torch.randn(8, 45)}
    first, second = teacher.act(obs), teacher.act(obs)
    expected = actor.model.mlp((obs["policy"] - normalizer.mean) / (normalizer.std + normalizer.eps))
    assert torch.equal(first, second) and torch.allclose(first, expected, atol=1e-6)


def test_recurrent_teacher_keeps_and_resets_its_state(tmp_path, go2_spec, go2_teacher):
    state = read_teacher_state(go2_teacher(["policy"], 48, rnn_type="gru", rnn_hidden_size=16))
    teacher = Teacher(state, go2_spec().observation_shapes, None, 8, torch.device("cpu"))
    obs = {"policy": torch.randn(8, 48)}
    first = teacher.act(obs)
    assert not torch.equal(first, teacher.act(obs))  # the GRU state moved on
    teacher.reset(None)
    assert torch.equal(first, teacher.act(obs))

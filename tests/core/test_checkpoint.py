"""Checkpoints: atomic writes, weights_only loads, named errors for bad files."""
import os
from pathlib import Path

import pytest
import torch

from fastembody_core import CheckpointError, StorageError, TrainingError
from fastembody_core.checkpoint import (
    capture_rng_state,
    checkpoint_path,
    latest_checkpoint,
    load_checkpoint,
    resolve_checkpoint,
    restore_rng_state,
    save_checkpoint,
    to_plain,
)


def payload(iteration=3, weight=None):
    return {
        "iteration": iteration,
        "algorithm": "ppo",
        "algorithm_state": {"actor": {"weight": torch.ones(2, 3) if weight is None else weight}, "lr": 1e-3},
        "env_state": {"buf": torch.arange(4)},
        "trainer_state": {"rng": capture_rng_state(), "env_steps": 96},
        "config": {"name": "x", "env": {"params": {"dims": [1, 2]}}},
    }


def test_round_trip_with_weights_only(tmp_path):
    path = save_checkpoint(checkpoint_path(tmp_path, 3), payload())
    assert path == tmp_path / "checkpoints" / "model_3.pt"
    data = load_checkpoint(path)
    assert data["format"] == "fastembody-checkpoint" and data["version"] == 2
    assert data["iteration"] == 3 and data["algorithm"] == "ppo"
    assert torch.equal(data["algorithm_state"]["actor"]["weight"], torch.ones(2, 3))
    assert data["config"]["env"]["params"]["dims"] == [1, 2]
    assert sorted(os.listdir(path.parent)) == ["model_3.pt"]  # no temp file left


def test_rng_state_round_trip(tmp_path):
    import random

    import numpy as np

    save_checkpoint(checkpoint_path(tmp_path, 1), payload())
    state = load_checkpoint(checkpoint_path(tmp_path, 1))["trainer_state"]["rng"]
    expected = (random.random(), float(np.random.rand()), float(torch.rand(1)))
    random.random(), np.random.rand(), torch.rand(1)
    restore_rng_state(state)
    assert (random.random(), float(np.random.rand()), float(torch.rand(1))) == expected


def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    path = save_checkpoint(checkpoint_path(tmp_path, 3), payload())
    before = path.read_bytes()

    def broken_save(obj, f):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(StorageError, match=r"cannot write checkpoint \(iteration 3\) .*model_3\.pt: OSError: disk full .* free there\); no partial file"):
        save_checkpoint(path, payload(weight=torch.zeros(2, 3)))
    assert path.read_bytes() == before
    assert sorted(os.listdir(path.parent)) == ["model_3.pt"]


def test_refuses_to_write_nan_parameters(tmp_path):
    weight = torch.ones(2, 3)
    weight[1, 2] = float("inf")
    with pytest.raises(TrainingError, match=r"model_5\.pt: algorithm_state\.actor\.weight holds NaN/inf \(iteration 5\)"):
        save_checkpoint(checkpoint_path(tmp_path, 5), payload(5, weight))
    assert not checkpoint_path(tmp_path, 5).exists()


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match=r"checkpoint .*nope\.pt does not exist"):
        load_checkpoint(tmp_path / "nope.pt")


def test_truncated_file(tmp_path):
    path = save_checkpoint(checkpoint_path(tmp_path, 3), payload())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"model_3\.pt is corrupt or truncated"):
        load_checkpoint(path)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04garbage"])
def test_corrupt_file(tmp_path, content):
    path = tmp_path / "model_1.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=r"model_1\.pt is (empty|corrupt)"):
        load_checkpoint(path)
    assert "\n" not in str(pytest.raises(CheckpointError, load_checkpoint, path).value)


def test_foreign_torch_file(tmp_path):
    path = tmp_path / "rsl.pt"
    torch.save({"actor_state_dict": {}, "iter": 3}, path)
    with pytest.raises(CheckpointError, match=r"rsl\.pt is not a FastEmbody checkpoint .*actor_state_dict"):
        load_checkpoint(path)


class Arbitrary:
    pass


def test_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": "fastembody-checkpoint", "obj": Arbitrary()}, path)
    with pytest.raises(CheckpointError, match="objects other than tensors and plain data"):
        load_checkpoint(path)


def test_newer_version_is_refused(tmp_path):
    path = tmp_path / "future.pt"
    torch.save({"format": "fastembody-checkpoint", "version": 99, "iteration": 1, "algorithm": "x",
                "algorithm_state": {}}, path)
    with pytest.raises(CheckpointError, match="version 99; this FastEmbody reads versions <= 2"):
        load_checkpoint(path)


def test_latest_and_resolve(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint in"):
        latest_checkpoint(tmp_path)
    for it in (9, 10, 2):
        save_checkpoint(checkpoint_path(tmp_path, it), payload(it))
    (tmp_path / "checkpoints" / ".model_11.pt.abc.tmp").write_bytes(b"x")  # an interrupted write is ignored
    assert latest_checkpoint(tmp_path).name == "model_10.pt"
    assert resolve_checkpoint(tmp_path).name == "model_10.pt"
    assert resolve_checkpoint(tmp_path, 9).name == "model_9.pt"
    assert resolve_checkpoint(tmp_path, Path("9")).name == "model_9.pt"  # what click hands over for --checkpoint 9
    assert resolve_checkpoint(tmp_path, "model_2.pt").name == "model_2.pt"
    assert resolve_checkpoint(tmp_path, str(checkpoint_path(tmp_path, 2))).name == "model_2.pt"
    with pytest.raises(CheckpointError, match=r"no checkpoint for iteration 4 .*saved: 2, 9, 10"):
        resolve_checkpoint(tmp_path, 4)
    with pytest.raises(CheckpointError, match="checkpoint other.pt not found"):
        resolve_checkpoint(tmp_path, "other.pt")


def test_to_plain():
    from dataclasses import dataclass
    from pathlib import Path

    @dataclass
    class P:
        dims: tuple = (1, 2)
        where: Path = Path("/x")

    assert to_plain({"p": P(), "n": torch.tensor(2.5)}) == {"p": {"dims": [1, 2], "where": "/x"}, "n": 2.5}

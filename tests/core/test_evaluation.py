"""Evaluating a run directory: deterministic policy, returns, lengths, per-term rewards, named errors."""
import pytest
import yaml
from core.fakes import FakePlugin, train_fake_run

from fastembody_core import CheckpointError, ConfigError
from fastembody_core.evaluation import evaluate_run, load_run


@pytest.fixture
def run_dir(tmp_path, register_plugin):
    register_plugin(FakePlugin(), "fake-plugin")
    train_fake_run(tmp_path / "run", max_iterations=4, save_interval=2, env={"num_envs": 8})
    return tmp_path / "run"


def test_evaluate_latest_checkpoint(run_dir):
    result = evaluate_run(run_dir, episodes=6)
    assert result["episodes"] == 6
    assert result["iteration"] == 4 and result["checkpoint"].endswith("model_4.pt")
    assert result["num_envs"] == 6  # capped at the episode count
    assert 1 <= result["mean_episode_length"] <= 12
    assert result["min_return"] <= result["mean_return"] <= result["max_return"]
    assert set(result["episode_terms"]) == {"distance", "steps"}
    assert evaluate_run(run_dir, episodes=6) == result  # deterministic


def test_checkpoint_and_num_envs_choice(run_dir):
    early = evaluate_run(run_dir, episodes=5, checkpoint=2, num_envs=3)
    assert early["iteration"] == 2 and early["num_envs"] == 3 and early["episodes"] == 5
    late = evaluate_run(run_dir, episodes=5, checkpoint="model_4.pt", num_envs=3)
    assert late["mean_return"] != early["mean_return"]


def test_policy_is_the_trained_one(run_dir):
    loaded = load_run(run_dir, max_envs=2)
    trained = loaded.payload["algorithm_state"]["actor"]["weight"]
    assert (loaded.algorithm.actor.weight == trained).all()
    assert loaded.algorithm.training is False
    loaded.env.close()


def test_overrides_reach_the_env(run_dir):
    result = evaluate_run(run_dir, episodes=2, overrides=["env.params.max_episode_length=3"])
    assert result["mean_episode_length"] <= 3


def test_missing_run_dir_and_checkpoints(tmp_path, run_dir):
    with pytest.raises(ConfigError, match="config.resolved.yaml not found"):
        evaluate_run(tmp_path / "nothing")
    for path in (run_dir / "checkpoints").iterdir():
        path.unlink()
    with pytest.raises(CheckpointError, match="no checkpoint in"):
        evaluate_run(run_dir)


def test_shape_mismatch_names_both_shapes(run_dir):
    config = yaml.safe_load((run_dir / "config.resolved.yaml").read_text())
    config["env"]["params"]["obs_dim"] = 5
    (run_dir / "config.resolved.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(CheckpointError, match=r"\(2, 3\) in checkpoint, \(2, 5\) in model"):
        evaluate_run(run_dir, episodes=1)

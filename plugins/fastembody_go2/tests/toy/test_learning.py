"""PPO (the team's plugin, through the registry and the core pipeline) learns on go2-toy within a test budget.

The budget (1024 envs x 24 steps x 40 iterations, ~1 M env steps, ~30 s on 2 cores) teaches a Go2 to stay up and
to hold still when told to, not to walk: at this env count the deterministic policy stood still under forward
commands up to 120 iterations (3 M steps; seed 0), and the tracking reward under random commands stayed flat from
40 to 80 iterations (seeds 0, 1), while forward walking takes ~17 M steps at 4096 envs
(benchmarks/go2_toy_walk.py). So the velocity-tracking claim here is about the zero command.
"""
import dataclasses

import pytest

from fastembody_core.config import experiment_from_dict
from fastembody_core.evaluation import evaluate_run, load_run
from fastembody_core.pipeline import run_experiment
from fastembody_core.testing import learning_precision, learning_seed
from fastembody_go2.toy.evaluate import evaluate_walking

ITERATIONS = 40  # 1024 envs x 24 steps each: ~1 M env steps, ~30 s on 2 cores


def experiment(max_iterations):
    return experiment_from_dict({
        "name": "go2_toy_learning_test",
        "seed": learning_seed(3),
        "device": "cpu",
        "env": {"name": "go2-toy", "params": {"num_envs": 1024, "compile": False}},
        "algorithm": {"name": "ppo", "params": {"precision": learning_precision("auto"),
                                                "actor_hidden_dims": [128, 128, 128],
                                                "critic_hidden_dims": [128, 128, 128]}},
        "trainer": {"name": "on-policy", "params": {"max_iterations": max_iterations, "num_steps_per_env": 24,
                                                    "save_interval": 0, "progress": False, "tensorboard": False}},
    }, source="test")


def standing_error(run_dir, checkpoint=None):
    """Mean |v_xy| (m/s) of the deterministic policy told to stand (zero command), 128 fresh 5 s episodes."""
    loaded = load_run(run_dir, checkpoint=checkpoint, num_envs=1)
    try:
        loaded.algorithm.eval_mode()
        params = dataclasses.replace(loaded.experiment.env.params, episode_length_s=5.0)
        return evaluate_walking(loaded.algorithm.act_inference, params, num_envs=128, speed=(0.0, 0.0))
    finally:
        loaded.env.close()


@pytest.mark.learning
def test_ppo_raises_episode_reward_survival_and_zero_command_tracking(tmp_path):
    run_dir = tmp_path / "run"
    run_experiment(experiment(1), run_dir=run_dir)  # checkpoint of the (nearly) untrained policy
    run_experiment(experiment(ITERATIONS), run_dir=run_dir, resume=True)
    # the deterministic policy, 256 fresh 5 s episodes with random commands, before and after training
    five_seconds = ["env.params.episode_length_s=5.0"]
    before = evaluate_run(run_dir, episodes=256, checkpoint=1, overrides=five_seconds)
    after = evaluate_run(run_dir, episodes=256, overrides=five_seconds)
    assert after["iteration"] == ITERATIONS and before["iteration"] == 1
    still_before, still_after = standing_error(run_dir, checkpoint=1), standing_error(run_dir)
    print(f"return {before['mean_return']:.3f} -> {after['mean_return']:.3f}, length {before['mean_episode_length']:.0f}"
          f" -> {after['mean_episode_length']:.0f}, standing: |v| {still_before['tracking_error']:.3f} -> "
          f"{still_after['tracking_error']:.3f} m/s, falls {still_before['fall_rate']:.2f} -> {still_after['fall_rate']:.2f}")
    assert after["mean_return"] > before["mean_return"] + 0.5
    assert after["mean_episode_length"] > before["mean_episode_length"] + 50  # falls less, out of 250 steps
    # told to stand, it holds still: |v| 0.008-0.010 m/s after (seeds 0, 1 fp32; 2 bf16), 0.019-0.027 before; the
    # untrained |v| is small only because it falls within ~2 s, hence an absolute bar rather than a ratio
    assert still_after["tracking_error"] < 0.015
    assert still_after["fall_rate"] < 0.1  # 0.38-0.48 -> 0.01-0.02

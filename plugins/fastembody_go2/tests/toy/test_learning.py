"""PPO (the team's plugin, through the registry and the core pipeline) learns on go2-toy within a test budget."""
from fastembody_core.config import experiment_from_dict
from fastembody_core.evaluation import evaluate_run
from fastembody_core.pipeline import run_experiment

ITERATIONS = 40  # 1024 envs x 24 steps each: ~1 M env steps, ~20 s on 2 cores


def experiment(max_iterations):
    return experiment_from_dict({
        "name": "go2_toy_learning_test",
        "seed": 3,
        "device": "cpu",
        "env": {"name": "go2-toy", "params": {"num_envs": 1024, "compile": False}},
        "algorithm": {"name": "ppo", "params": {"actor_hidden_dims": [128, 128, 128],
                                                "critic_hidden_dims": [128, 128, 128]}},
        "trainer": {"name": "on-policy", "params": {"max_iterations": max_iterations, "num_steps_per_env": 24,
                                                    "save_interval": 0, "progress": False, "tensorboard": False}},
    }, source="test")


def test_ppo_raises_episode_reward_and_velocity_tracking(tmp_path):
    run_dir = tmp_path / "run"
    run_experiment(experiment(1), run_dir=run_dir)  # checkpoint of the (nearly) untrained policy
    run_experiment(experiment(ITERATIONS), run_dir=run_dir, resume=True)
    # the deterministic policy, 256 fresh 5 s episodes with random commands, before and after training
    five_seconds = ["env.params.episode_length_s=5.0"]
    before = evaluate_run(run_dir, episodes=256, checkpoint=1, overrides=five_seconds)
    after = evaluate_run(run_dir, episodes=256, overrides=five_seconds)
    assert after["iteration"] == ITERATIONS and before["iteration"] == 1
    tracking_before = before["episode_terms"]["rew_tracking_lin_vel"]
    tracking_after = after["episode_terms"]["rew_tracking_lin_vel"]
    print(f"return {before['mean_return']:.3f} -> {after['mean_return']:.3f}, tracking {tracking_before:.4f} -> "
          f"{tracking_after:.4f}, length {before['mean_episode_length']:.0f} -> {after['mean_episode_length']:.0f}")
    assert after["mean_return"] > 2.0 * before["mean_return"] + 0.5
    assert tracking_after > 2.0 * tracking_before + 0.02
    assert after["mean_episode_length"] > before["mean_episode_length"] + 50  # falls less, out of 250 steps

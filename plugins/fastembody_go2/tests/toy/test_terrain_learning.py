"""PPO trains a height-scan teacher up go2-toy's terrain curriculum (learning test, test data: a teacher's weights).

From scratch, a test budget cannot raise the level: the rule moves a robot up only after it walked half a tile,
and forward walking takes ~17 M env steps on flat ground (benchmarks/go2_toy_walk.py); at 1024 envs x 32
iterations the level stayed 0 with episodes ending in falls after ~1.3 s. So the run starts from a rough teacher's
weights (``data/rough_teacher_weights.pt``, written by ``data/make_rough_teacher_weights.py`` from
``benchmarks/go2_rough.py``'s teacher) through ``trainer.params.init_checkpoint``, every robot on level 0, and
trains on: the test asserts the curriculum carries the training robots up while PPO keeps updating the policy
(a broken contact, scan, spawn, curriculum or checkpoint path shows as a level that stays low or falls).
Measured (AMD EPYC, ~26 s each): mean level 0 -> 2.17 / 2.10 (seeds 1, 2, fp32), 2.21 (seed 3, bf16); bar 1.5.
The weights are the 60-minute teacher of benchmarks/go2_rough.py (seed 1, iteration 1315, fp16, 0.27 MB).
"""
from pathlib import Path

import pytest

from fastembody_core.config import experiment_from_dict
from fastembody_core.pipeline import run_experiment
from fastembody_core.run_logging import read_metrics
from fastembody_core.testing import learning_precision, learning_seed

WEIGHTS = Path(__file__).resolve().parents[1] / "data" / "rough_teacher_weights.pt"
ITERATIONS = 30  # 512 envs x 24 steps: 5 s episodes end every ~10 iterations


def experiment():
    return experiment_from_dict({
        "name": "go2_rough_learning_test",
        "seed": learning_seed(1),
        "device": "cpu",
        "env": {"name": "go2-toy", "params": {
            "num_envs": 512, "compile": False, "episode_length_s": 5.0, "height_scan_in_policy": True,
            "terrain": {"type": "rough", "num_rows": 10, "num_cols": 8, "tile_length": 4.0, "tile_width": 4.0,
                        "platform_size": 1.5, "border_size": 4.0, "curriculum": True, "max_init_level": 0},
            "commands": {"lin_vel_x": [0.6, 1.0], "lin_vel_y": [0.0, 0.0], "ang_vel_yaw": [0.0, 0.0],
                         "heading_command": False},
        }},
        "algorithm": {"name": "ppo", "params": {"precision": learning_precision("auto"),
                                                "actor_hidden_dims": [128, 128, 128],
                                                "critic_hidden_dims": [128, 128, 128]}},
        "trainer": {"name": "on-policy", "params": {
            "max_iterations": ITERATIONS, "num_steps_per_env": 24, "save_interval": 0, "progress": False,
            "tensorboard": False, "init_checkpoint": str(WEIGHTS)}},
    }, source="test")


@pytest.mark.learning
def test_training_teacher_climbs_the_terrain_curriculum(tmp_path):
    run_experiment(experiment(), run_dir=tmp_path / "run")
    records = read_metrics(tmp_path / "run" / "metrics.jsonl")
    levels = [(r["iteration"], r["Episode/terrain_level"]) for r in records if "Episode/terrain_level" in r]
    print("terrain level by iteration:", [(i, round(v, 2)) for i, v in levels])
    assert levels and levels[0][1] <= 0.5  # every robot starts on level 0 (a few move after the first resets)
    final = levels[-1][1]
    assert final >= 1.5, f"mean terrain level {final:.2f} after {ITERATIONS} iterations (from 0)"

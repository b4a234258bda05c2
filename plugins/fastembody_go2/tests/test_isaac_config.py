"""Params of the Isaac Gym envs and cfg overrides by dotted name (torch- and Isaac-free)."""
import json
from pathlib import Path

import pytest
import yaml

from fastembody_core import ConfigError
from fastembody_core.config import build_dataclass
from fastembody_go2.isaac.config import Go2IsaacParams, IsaacParams, apply_cfg_overrides, flatten_overrides

ROOT = Path(__file__).resolve().parents[3]


def make_cfg():
    """A legged_gym-like cfg: nested sections, a dict field, a list field, ints and floats."""

    class Cfg:
        class env:
            num_envs = 4096
            episode_length_s = 20
            send_timeouts = True

        class rewards:
            only_positive_rewards = True

            class scales:
                torques = -0.0002
                tracking_lin_vel = 1.0

        class control:
            stiffness = {"joint": 20.0}
            decimation = 4

        class commands:
            class ranges:
                lin_vel_x = [-1.0, 1.0]

    return Cfg()


def test_defaults_and_nested_overrides_are_flattened():
    params = IsaacParams(cfg_overrides={"rewards": {"scales": {"torques": -1e-4}}, "env.episode_length_s": 10})
    assert params.task == "go2" and params.num_envs == 4096 and params.headless is True
    assert params.sim_device is None and params.rl_device is None and params.seed is None
    assert params.cfg_overrides == {"rewards.scales.torques": -1e-4, "env.episode_length_s": 10}
    assert "task" not in {f for f in Go2IsaacParams.__dataclass_fields__}


@pytest.mark.parametrize(
    "kwargs, key, text",
    [
        ({"num_envs": 0}, "num_envs", ">= 1"),
        ({"sim_device": "gpu"}, "sim_device", "use cpu, cuda or cuda:N"),
        ({"rl_device": "cuda:x"}, "rl_device", "use cpu, cuda or cuda:N"),
        ({"seed": -2}, "seed", "-1 for a random seed"),
        ({"cfg_overrides": {"rewards.__class__": 1}}, "cfg_overrides.rewards.__class__", "dotted legged_gym cfg name"),
        ({"cfg_overrides": {"rewards..scales": 1}}, "cfg_overrides.rewards..scales", "dotted legged_gym cfg name"),
        ({"cfg_overrides": {"env": {"num_envs": 8}}}, "cfg_overrides.env.num_envs", "'num_envs' instead"),
        ({"cfg_overrides": {"seed": 8}}, "cfg_overrides.seed", "'seed' instead"),
        ({"task": "go2; rm -rf /"}, "task", "task name"),
    ],
)
def test_invalid_params_name_the_key(kwargs, key, text):
    with pytest.raises(ConfigError) as err:
        IsaacParams(**kwargs)
    assert err.value.key == key and text in str(err.value)


def test_loader_reports_the_full_dotted_key():
    with pytest.raises(ConfigError) as err:
        build_dataclass(Go2IsaacParams, {"cfg_overrides": {"env": {"num_envs": 8}}}, "env.params", "exp.yaml")
    assert str(err.value).startswith("exp.yaml: env.params.cfg_overrides.env.num_envs:")
    with pytest.raises(ConfigError) as err:
        build_dataclass(Go2IsaacParams, {"task": "h1"}, "env.params", "exp.yaml")
    assert "env.params.task" in str(err.value)  # go2-isaac has its task fixed


def test_overrides_set_fields_in_their_type():
    cfg = make_cfg()
    apply_cfg_overrides(cfg, flatten_overrides({
        "rewards.scales.torques": "-1e-4",  # PyYAML 1.1 reads 1e-4 as a string
        "env.episode_length_s": 0.5,  # a fractional value replaces an int field
        "control.decimation": 2.0,
        "control.stiffness.joint": 25,
        "commands.ranges.lin_vel_x": [0.0, 2.0],
        "rewards.only_positive_rewards": False,
    }), "go2")
    assert cfg.rewards.scales.torques == -1e-4 and isinstance(cfg.rewards.scales.torques, float)
    assert cfg.env.episode_length_s == 0.5 and cfg.control.decimation == 2 and isinstance(cfg.control.decimation, int)
    assert cfg.control.stiffness == {"joint": 25.0} and isinstance(cfg.control.stiffness["joint"], float)
    assert cfg.commands.ranges.lin_vel_x == [0.0, 2.0] and cfg.rewards.only_positive_rewards is False


@pytest.mark.parametrize(
    "overrides, text",
    [
        ({"rewards.scales.torque": -1.0}, "no cfg field 'rewards.scales.torque'; did you mean 'rewards.scales.torques'?"),
        ({"rewardz.scales.torques": -1.0}, "did you mean 'rewards'?"),
        ({"control.stiffness.hip": 1.0}, "has no cfg field 'control.stiffness.hip'"),
        ({"rewards.scales": 1.0}, "is a cfg section, not a value; name one of its fields: torques, tracking_lin_vel"),
        ({"env.send_timeouts": 1}, "expected bool"),
        ({"env.episode_length_s": "20 s"}, "expected a number"),
        ({"commands.ranges.lin_vel_x": 1.0}, "expected list"),
    ],
)
def test_bad_overrides_are_named_errors(overrides, text):
    cfg = make_cfg()
    with pytest.raises(ConfigError) as err:
        apply_cfg_overrides(cfg, flatten_overrides(overrides), "go2")
    assert err.value.key == f"cfg_overrides.{next(iter(overrides))}" and text in str(err.value), str(err.value)


def test_yaml_and_json_configs_are_identical_and_valid():
    from fastembody_core.config import load_experiment

    yaml_data = yaml.safe_load((ROOT / "configs/unitree_go2_isaac.yaml").read_text())
    json_data = json.loads((ROOT / "configs/unitree_go2_isaac.json").read_text())
    assert yaml_data == json_data
    experiment = load_experiment(ROOT / "configs/unitree_go2_isaac.yaml")
    assert experiment.env.name == "go2-isaac" and experiment.seed == 1
    ppo = experiment.algorithm.params  # unitree_rl_gym's GO2RoughCfgPPO (legged_gym's LeggedRobotCfgPPO)
    assert (ppo.actor_hidden_dims, ppo.critic_hidden_dims, ppo.activation) == ([512, 256, 128], [512, 256, 128], "elu")
    assert (ppo.learning_rate, ppo.schedule, ppo.desired_kl, ppo.entropy_coef) == (1e-3, "adaptive", 0.01, 0.01)
    assert (ppo.num_learning_epochs, ppo.num_mini_batches, ppo.clip_param, ppo.gamma, ppo.lam) == (5, 4, 0.2, 0.99, 0.95)
    assert (ppo.value_loss_coef, ppo.max_grad_norm, ppo.init_noise_std, ppo.precision) == (1.0, 1.0, 1.0, "fp32")
    trainer = experiment.trainer.params
    assert (trainer.max_iterations, trainer.num_steps_per_env, trainer.save_interval) == (1500, 24, 50)
    assert experiment.env.params.num_envs == 4096
